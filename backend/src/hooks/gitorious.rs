//! The `gitorious` dialect (being written).
