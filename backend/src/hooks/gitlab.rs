//! The `gitlab` dialect (being written).
