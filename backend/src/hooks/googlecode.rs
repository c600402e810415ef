//! The `googlecode` dialect (being written).
