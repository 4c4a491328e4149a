//! `trail --help`, every command's help and the common error lines, pinned
//! (trycmd): a change to what users read is a visible diff in
//! tests/cmd/*.stdout and *.stderr. To change them on purpose, run
//! `TRYCMD=overwrite cargo test --test help` and read the diff.

#[test]
fn help_texts_are_pinned() {
    trycmd::TestCases::new().case("tests/cmd/*.toml");
}
