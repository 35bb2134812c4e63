//! The two JSON Web Tokens push needs, signed with aws-lc-rs (already the
//! crate's crypto): ES256 for APNs provider tokens, RS256 for the Google
//! service-account assertion.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, RSA_PKCS1_SHA256, RsaKeyPair,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

fn signing_input(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

/// A P-256 key (Apple's `.p8`).
pub struct Es256(EcdsaKeyPair);

impl Es256 {
    pub fn from_pkcs8(der: &[u8]) -> anyhow::Result<Self> {
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
            .map(Es256)
            .map_err(|_| anyhow::anyhow!("not a P-256 PKCS#8 key"))
    }

    /// `header.claims.signature`, the signature as JWS wants it (r || s).
    pub fn sign(&self, header: &Value, claims: &Value) -> anyhow::Result<String> {
        let input = signing_input(header, claims);
        let signature = self
            .0
            .sign(&SystemRandom::new(), input.as_bytes())
            .map_err(|_| anyhow::anyhow!("ES256 signing failed"))?;
        Ok(format!(
            "{input}.{}",
            URL_SAFE_NO_PAD.encode(signature.as_ref())
        ))
    }
}

/// An RSA key (a Google service account's).
pub struct Rs256(RsaKeyPair);

impl Rs256 {
    pub fn from_pkcs8(der: &[u8]) -> anyhow::Result<Self> {
        RsaKeyPair::from_pkcs8(der)
            .map(Rs256)
            .map_err(|_| anyhow::anyhow!("not an RSA PKCS#8 key"))
    }

    pub fn sign(&self, header: &Value, claims: &Value) -> anyhow::Result<String> {
        let input = signing_input(header, claims);
        let mut signature = vec![0; self.0.public_modulus_len()];
        self.0
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| anyhow::anyhow!("RS256 signing failed"))?;
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{
        ECDSA_P256_SHA256_FIXED, KeyPair as _, RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey,
    };
    use serde_json::json;

    fn verify(
        token: &str,
        algorithm: &'static dyn aws_lc_rs::signature::VerificationAlgorithm,
        public: &[u8],
    ) -> bool {
        let (input, signature) = token.rsplit_once('.').unwrap();
        let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
        UnparsedPublicKey::new(algorithm, public)
            .verify(input.as_bytes(), &signature)
            .is_ok()
    }

    #[test]
    fn es256_tokens_verify_with_the_public_key() {
        let der =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .unwrap();
        let key = Es256::from_pkcs8(der.as_ref()).unwrap();
        let token = key
            .sign(
                &json!({"alg": "ES256", "kid": "ABCDE12345"}),
                &json!({"iss": "TEAM123456", "iat": 1}),
            )
            .unwrap();
        let public = key.0.public_key().as_ref().to_vec();
        assert!(verify(&token, &ECDSA_P256_SHA256_FIXED, &public));
        let tampered = token.replacen("eyJ", "eyK", 1);
        assert!(!verify(&tampered, &ECDSA_P256_SHA256_FIXED, &public));
    }

    #[test]
    fn rs256_tokens_verify_with_the_public_key() {
        let pair = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let der =
            aws_lc_rs::encoding::AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair).unwrap();
        let key = Rs256::from_pkcs8(der.as_ref()).unwrap();
        let token = key
            .sign(&json!({"alg": "RS256"}), &json!({"iss": "a@b"}))
            .unwrap();
        let public = key.0.public_key().as_ref().to_vec();
        assert!(verify(&token, &RSA_PKCS1_2048_8192_SHA256, &public));
    }
}
