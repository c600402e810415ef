//! The `github` dialect (being written).
