//! What the instances run at boot, rendered and exercised (issue 15).
//!
//! [`render_boot`] renders every cloud-init template of the tree for every
//! environment and dev scenario with exactly the values the modules pass
//! (module inputs through the stack, locals, module outputs), standing in
//! made-up values for what only exists after an apply: keys and passwords
//! (all set to one `secret`, which the tests fill with awkward characters),
//! addresses, certificates, endpoints. The `check_*` functions then run the
//! real consumers on the renders: cloud-init's schema checker, shellcheck,
//! redis-server, and parsers of each place a secret lands in.
//!
//! A check that needs a missing tool reports it as a problem under `CI=true`
//! and is skipped (with a note on stderr) elsewhere.
//!
//! [`render`] makes the documents, [`tools`] finds and runs the consumers,
//! [`checks`] holds one function per consumer.

pub mod checks;
pub mod render;
pub mod tools;

pub use checks::*;
pub use render::*;
pub use tools::*;
