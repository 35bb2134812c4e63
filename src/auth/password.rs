//! argon2id hashing off the async threads, in a fixed number of slots.
//!
//! Each slot owns one 19 MiB block of argon2 memory, reused by every hash
//! that runs in it. Allocating the block per hash cost about 20 ms of kernel
//! time per sign-in: start-up pins glibc's mmap threshold (so freed large
//! blocks go back to the system, see `main.rs`), which made every hash map
//! 19 MiB, fault in its 4,864 pages and unmap them again. The slots keep
//! memory bounded (slots × 19 MiB, allocated on first use and held) and the
//! semaphore keeps a burst of sign-ins from starving the runtime.

use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::Semaphore;

use crate::users::Password;

/// OWASP's argon2id baseline: 19 MiB, 2 passes, 1 lane.
const M_COST_KIB: u32 = 19 * 1024;
const T_COST: u32 = 2;
const P_COST: u32 = 1;

fn params() -> Params {
    Params::new(M_COST_KIB, T_COST, P_COST, None).expect("valid argon2 parameters")
}

/// One slot's argon2 memory: `M_COST_KIB` blocks of 1 KiB.
type Memory = Box<[Block]>;

fn new_memory() -> Memory {
    vec![Block::default(); M_COST_KIB as usize].into_boxed_slice()
}

/// The memory of the slots not in use. At most as many blocks exist as the
/// semaphore has permits, since a hash takes a permit before a block.
#[derive(Default)]
struct Memories(Mutex<Vec<Memory>>);

impl Memories {
    fn take(&self) -> Memory {
        let free = self.0.lock().map(|mut free| free.pop());
        free.ok().flatten().unwrap_or_else(new_memory)
    }

    fn give_back(&self, memory: Memory) {
        if let Ok(mut free) = self.0.lock() {
            free.push(memory);
        }
    }
}

/// argon2 into `memory` (or, for a stored hash with more memory than a slot
/// holds, into a block of its own), the output as long as `output_len`.
fn compute(
    algorithm: Algorithm,
    version: Version,
    params: Params,
    password: &[u8],
    salt: &[u8],
    output_len: usize,
    memory: &mut [Block],
) -> Result<Output, argon2::password_hash::Error> {
    let blocks = params.block_count();
    let argon2 = Argon2::new(algorithm, version, params);
    Output::init_with(output_len, |out| {
        if blocks <= memory.len() {
            argon2.hash_password_into_with_memory(password, salt, out, &mut *memory)?;
        } else {
            argon2.hash_password_into(password, salt, out)?;
        }
        Ok(())
    })
}

fn hash_blocking(password: &str, memory: &mut [Block]) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt
        .decode_b64(&mut salt_bytes)
        .map_err(|e| anyhow::anyhow!("argon2 salt: {e}"))?;
    let params = params();
    let output = compute(
        Algorithm::Argon2id,
        Version::V0x13,
        params.clone(),
        password.as_bytes(),
        salt_bytes,
        Params::DEFAULT_OUTPUT_LEN,
        memory,
    )
    .map_err(|e| anyhow::anyhow!("argon2 hash: {e}"))?;
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| anyhow::anyhow!("argon2: {e}"))?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(hash.to_string())
}

/// What argon2's `PasswordVerifier` does, with the slot's memory: the
/// stored hash's own algorithm, version and parameters, and `Output`'s
/// constant-time comparison.
fn verify_blocking(password: &str, hash: &str, memory: &mut [Block]) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let algorithm = Algorithm::try_from(parsed.algorithm);
    let version = parsed
        .version
        .map_or(Ok(Version::default()), Version::try_from);
    let params = Params::try_from(&parsed);
    let (Ok(algorithm), Ok(version), Ok(params)) = (algorithm, version, params) else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt_bytes) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    compute(
        algorithm,
        version,
        params,
        password.as_bytes(),
        salt_bytes,
        expected.len(),
        memory,
    )
    .is_ok_and(|computed| computed == expected)
}

#[derive(Clone)]
pub struct Hasher {
    permits: Arc<Semaphore>,
    memories: Arc<Memories>,
    /// Verified against when the login names no account, so that a wrong
    /// login takes as long as a wrong password.
    dummy_hash: Arc<String>,
}

impl Hasher {
    /// One slot per CPU: a hash is pure computation, so more slots would only
    /// interleave hashes (and hold more memory) without finishing more.
    pub fn new() -> Self {
        let slots = std::thread::available_parallelism().map_or(2, |n| n.get());
        let memories = Memories::default();
        let mut memory = memories.take();
        let dummy_hash =
            hash_blocking("not a real password, only for timing", &mut memory).expect("dummy hash");
        memories.give_back(memory);
        Self {
            permits: Arc::new(Semaphore::new(slots)),
            memories: Arc::new(memories),
            dummy_hash: Arc::new(dummy_hash),
        }
    }

    /// Runs `work` on a blocking thread with a slot's memory.
    async fn in_slot<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut [Block]) -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let _permit = self.permits.acquire().await.context("hasher closed")?;
        let memories = Arc::clone(&self.memories);
        Ok(tokio::task::spawn_blocking(move || {
            let mut memory = memories.take();
            let answer = work(&mut memory);
            memories.give_back(memory);
            answer
        })
        .await?)
    }

    pub async fn hash(&self, password: &Password) -> anyhow::Result<String> {
        let password = password.expose().to_owned();
        self.in_slot(move |memory| hash_blocking(&password, memory))
            .await?
    }

    /// Verifies `password` against `hash`, or against the dummy hash when
    /// there is no account, taking the same time either way.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> anyhow::Result<bool> {
        let password = password.to_owned();
        let exists = hash.is_some();
        let hash = hash.map_or_else(|| self.dummy_hash.as_str().to_owned(), str::to_owned);
        let matches = self
            .in_slot(move |memory| verify_blocking(&password, &hash, memory))
            .await?;
        Ok(exists && matches)
    }
}

impl Default for Hasher {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};

    use super::*;

    fn reference() -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params())
    }

    /// The slot's hashes are argon2's own: each verifies the other's, and a
    /// reused (dirty) block gives the same answer as a fresh one.
    #[test]
    fn slot_hashes_are_argon2s_and_memory_reuse_changes_nothing() {
        let mut memory = new_memory();
        let ours = hash_blocking("correct horse", &mut memory).expect("hash");
        let parsed = PasswordHash::new(&ours).expect("phc string");
        assert_eq!(parsed.algorithm, Algorithm::Argon2id.ident());
        assert_eq!(
            Params::try_from(&parsed).expect("params").m_cost(),
            M_COST_KIB
        );
        assert!(
            reference()
                .verify_password(b"correct horse", &parsed)
                .is_ok()
        );

        let salt = SaltString::generate(&mut OsRng);
        let theirs = reference()
            .hash_password(b"battery staple", &salt)
            .expect("hash")
            .to_string();
        // `memory` still holds the state of the hash above.
        assert!(verify_blocking("battery staple", &theirs, &mut memory));
        assert!(!verify_blocking("battery stapler", &theirs, &mut memory));
        assert!(verify_blocking("correct horse", &ours, &mut memory));
        assert!(!verify_blocking(
            "correct horse",
            "not a phc string",
            &mut memory
        ));
    }

    /// A stored hash with more memory than a slot is still verified (in a
    /// block of its own), and one with less uses the slot.
    #[test]
    fn other_parameters_verify() {
        let mut memory = new_memory();
        for m_cost in [8 * 1024, 24 * 1024] {
            let argon2 = Argon2::new(
                Algorithm::Argon2id,
                Version::V0x13,
                Params::new(m_cost, 1, 1, None).expect("params"),
            );
            let salt = SaltString::generate(&mut OsRng);
            let stored = argon2
                .hash_password(b"pw", &salt)
                .expect("hash")
                .to_string();
            assert!(verify_blocking("pw", &stored, &mut memory), "m={m_cost}");
            assert!(!verify_blocking("pv", &stored, &mut memory), "m={m_cost}");
        }
    }

    /// No more memories exist than slots, however many hashes ran.
    #[tokio::test]
    async fn memory_is_bounded_by_the_slots() {
        let hasher = Hasher::new();
        let slots = hasher.permits.available_permits();
        let runs: Vec<_> = (0..slots * 3)
            .map(|_| {
                let hasher = hasher.clone();
                let password = Password::parse("a long enough password").expect("password");
                tokio::spawn(async move { hasher.hash(&password).await })
            })
            .collect();
        for run in runs {
            run.await.expect("join").expect("hash");
        }
        let held = hasher.memories.0.lock().expect("lock").len();
        assert!(
            (1..=slots).contains(&held),
            "{held} memories for {slots} slots"
        );
    }
}
