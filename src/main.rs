//! The `stepkit` executable: hands the process arguments to the library and exits with its code.

fn main() {
    std::process::exit(stepkit::run(std::env::args_os()));
}
