//! keepalived.conf front end: lexer, parser, mapping onto [`crate::config::Config`] and
//! validation with file:line:col findings.
