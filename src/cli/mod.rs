//! The `faultline` command line: one module per subcommand.
