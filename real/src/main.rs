//! `vrrpd-real`: the production daemon's command line.

fn main() {}
