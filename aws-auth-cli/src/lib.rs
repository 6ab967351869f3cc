//! `aws-auth`: argument parsing, I/O and exit codes; everything else is in
//! `aws-auth-core`. Two thin binaries call [`main`]: `aws-auth` and
//! `kubectl-aws_auth`, the name kubectl looks for to run `kubectl aws-auth`.

mod backup;
mod cli;
mod commands;
mod confirm;
mod connect;
mod credentials;
mod exit;
mod file;
mod identity;
mod interrupt;
mod live;
mod logging;
mod migrate;
mod output;

use std::io::Write;
use std::process::ExitCode;

use aws_auth_core::explain::LoginContext;
use cli::{Cli, Command};
use commands::Report;
use exit::{Exit, USAGE, fail};
use file::Target;

/// Runs the command line and returns the exit code.
pub fn main() -> ExitCode {
    let cli = match cli::parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => 0,
                _ => USAGE,
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    logging::init(cli.global.verbose);
    output::TableStyle::detect(cli.global.no_headers).install();
    interrupt::install();
    match run(&cli) {
        Ok(report) => finish(report),
        Err(e) => {
            let (code, message) = match e.downcast_ref::<Exit>() {
                Some(exit) => (exit.code, exit.message.clone()),
                None => (exit::INTERNAL, format!("{e:#}")),
            };
            let message = credentials::redact_known(&message);
            let _ = writeln!(std::io::stderr(), "error: {message}");
            ExitCode::from(code)
        }
    }
}

/// Prints a report; a closed stdout (`aws-auth get | head`) is not an error.
fn finish(report: Report) -> ExitCode {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out
        .write_all(report.stdout.as_bytes())
        .and_then(|()| out.flush())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        let _ = writeln!(std::io::stderr(), "error: cannot write to stdout: {e}");
        return ExitCode::from(exit::IO);
    }
    let _ = std::io::stderr().write_all(report.stderr.as_bytes());
    ExitCode::from(report.code)
}

/// The completion script for `shell`.
fn completion_script(shell: clap_complete::Shell) -> anyhow::Result<String> {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cli::command(false), "aws-auth", &mut buf);
    let script = String::from_utf8(buf)?;
    Ok(match shell {
        // clap_complete names the subcommands' bash states after the binary
        // with its `-` mangled one way (`aws__subcmd__auth__...`) and the state
        // that leads to them another (`aws__auth`), so nothing below the top
        // level completed. One spelling for both.
        clap_complete::Shell::Bash => script.replace("aws__subcmd__auth", "aws__auth"),
        _ => script,
    })
}

fn run(cli: &Cli) -> anyhow::Result<Report> {
    let global = &cli.global;
    if let Command::Completions { shell } = &cli.command {
        return Ok(Report {
            stdout: completion_script(*shell)?,
            stderr: String::new(),
            code: exit::OK,
        });
    }
    if let Command::Migrate(cmd) = &cli.command {
        return migrate::run(cli, cmd);
    }
    let Some(path) = &global.file else {
        return live::run(cli);
    };
    live::refuse_in_file_mode(cli)?;
    let target = Target::new(path);
    let name = target.name();
    let ops = match &cli.command {
        Command::Get => return commands::get(&target.document()?, global.output),
        Command::Lint { strict } => {
            let diagnostics = aws_auth_core::lint::lint_manifest(&target.read()?);
            let place = |d: &aws_auth_core::lint::Diagnostic| {
                format!("{name}:{}:{}", d.position.line, d.position.column)
            };
            return commands::lint(&name, &diagnostics, &place, *strict, global.output);
        }
        Command::Explain {
            arn,
            access_key_id,
            private_dns_name,
        } => {
            let mut login = LoginContext::new();
            login.access_key_id = access_key_id.clone();
            login.private_dns_name = private_dns_name.clone();
            return commands::explain(&target.document()?, arn, &login, global.output);
        }
        Command::Add(cmd) => commands::add_ops(cmd)?,
        Command::Update(cmd) => commands::update_ops(cmd)?,
        Command::Remove(args) => commands::remove_ops(args)?,
        Command::Completions { .. }
        | Command::Backup { .. }
        | Command::Restore { .. }
        | Command::Migrate(_) => {
            return Err(fail(exit::INTERNAL, "not a file command"));
        }
    };
    let guards = commands::guards(global)?;
    // --create starts a manifest that does not exist yet (adds only).
    let adds_only = ops.ops.iter().all(|op| {
        matches!(
            op,
            aws_auth_core::edit::Op::AddRole(_)
                | aws_auth_core::edit::Op::AddUser(_)
                | aws_auth_core::edit::Op::AddAccount(_)
        )
    });
    let create = matches!(&target, Target::Path(p) if !p.exists()) && global.cluster.create;
    if create && !adds_only {
        return Err(fail(
            exit::USAGE,
            "--create makes a new manifest for add only",
        ));
    }
    let doc = if create {
        aws_auth_core::Document::parse_manifest(file::NEW_MANIFEST)
            .map_err(|e| fail(exit::INTERNAL, e.to_string()))?
    } else {
        target
            .document()
            .map_err(|e| match e.downcast_ref::<Exit>() {
                Some(x) if x.code == exit::NOT_FOUND && adds_only => fail(
                    exit::NOT_FOUND,
                    format!("{} (add --create to start a new manifest)", x.message),
                ),
                _ => e,
            })?
    };
    let edited = doc
        .edit(&ops.ops, &guards)
        .map_err(|e| commands::edit_error(&name, &ops, e))?;
    commands::confirm_forced(&edited, global)?;
    let dry_run = global.dry_run.is_some();
    let mut report = commands::edit_report(&edited, &ops, dry_run, global.output, None)?;
    if dry_run {
        return Ok(report);
    }
    let text = edited.manifest().unwrap_or_default();
    match target {
        // stdout carries the manifest, edited or not; the summary goes to stderr.
        Target::Stdio => {
            report.stderr = format!("{}{}", report.stdout, report.stderr);
            report.stdout = text.to_owned();
        }
        Target::Path(_) if create => target.create(text)?,
        Target::Path(_) if !edited.is_noop() => target.write(text)?,
        Target::Path(_) => {}
    }
    Ok(report)
}
