-- The APNs provider token (an ES256 JWT), shared by every worker process:
-- Apple wants one minted at most every 20 minutes and at least every hour,
-- and answers 429 TooManyProviderTokenUpdates to providers that mint more
-- often, which many serverless instances each minting their own would do.
-- It only authorises sending pushes to this app, and for an hour at most.
CREATE TABLE push_provider_tokens (
    key_id    text PRIMARY KEY,
    token     text NOT NULL,
    minted_at timestamptz NOT NULL DEFAULT now()
);
