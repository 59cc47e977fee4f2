//! The `tensorserve` binary: a thin shell over [`tensorserve`]'s library.

fn main() {}
