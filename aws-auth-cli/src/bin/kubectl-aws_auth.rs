//! `kubectl-aws_auth`: kubectl runs it for `kubectl aws-auth ...`.

fn main() -> std::process::ExitCode {
    aws_auth_cli::main()
}
