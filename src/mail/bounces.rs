//! Bounces and complaints reported by Transactional Email through Topics
//! and Events (SNS).
