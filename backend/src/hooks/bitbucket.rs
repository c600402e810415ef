//! The `bitbucket` dialect (being written).
