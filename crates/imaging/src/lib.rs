//! Pure image pipeline (no I/O).
