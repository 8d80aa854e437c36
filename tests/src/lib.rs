//! End-to-end tests of the mci service on every store adapter live in
//! `tests/`; this library is empty.
#![forbid(unsafe_code)]
