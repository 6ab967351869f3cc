//! `aws-auth`.

fn main() -> std::process::ExitCode {
    aws_auth_cli::main()
}
