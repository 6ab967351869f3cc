//! `aws-auth`: argument parsing, I/O and exit codes; everything else is in
//! `aws-auth-core`. Two thin binaries call [`main`]: `aws-auth` and
//! `kubectl-aws_auth`, the name kubectl looks for to run `kubectl aws-auth`.

mod access;
mod answers;
mod aws_http;
mod backup;
mod check;
mod cli;
mod commands;
mod confirm;
mod connect;
mod credentials;
mod eks_context;
mod exit;
mod file;
mod fleet;
mod grant;
mod grant_file;
mod identity;
mod interrupt;
mod live;
mod logging;
mod migrate;
mod output;
mod proxy;
mod reap;
mod report;
mod settings;
mod source;
mod webhook;
mod who;

use std::io::Write;
use std::process::ExitCode;

use cli::{Cli, Command, Output};
use exit::{Exit, USAGE};
use report::Report;
use settings::Settings;

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
    output::TableStyle::detect(cli.global.no_headers, cli.global.wide).install();
    interrupt::install();
    match run(&cli) {
        Ok(report) => finish(report, cli.global.output),
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

/// The async runtime of a command: its calls wait on the network, not the
/// CPU, so one thread interleaves them (the webhook's server has its own).
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            exit::fail(
                exit::INTERNAL,
                format!("cannot start the async runtime: {e}"),
            )
        })
}

/// Prints a report; a closed stdout (`aws-auth get | head`) is not an error.
fn finish(report: Report, format: Output) -> ExitCode {
    let rendered = match report.render(format) {
        Ok(r) => r,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: cannot render the result: {e}");
            return ExitCode::from(exit::INTERNAL);
        }
    };
    let mut out = std::io::stdout().lock();
    if let Err(e) = out
        .write_all(rendered.stdout.as_bytes())
        .and_then(|()| out.flush())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        let _ = writeln!(std::io::stderr(), "error: cannot write to stdout: {e}");
        return ExitCode::from(exit::IO);
    }
    let _ = std::io::stderr().write_all(rendered.stderr.as_bytes());
    ExitCode::from(report.code)
}

/// The completion script for `shell`.
fn completion_script(shell: clap_complete::Shell) -> anyhow::Result<String> {
    let mut buf = Vec::new();
    let mut full = cli::command(false);
    full.build();
    clap_complete::generate(shell, &mut visible(&full), "aws-auth", &mut buf);
    let script = String::from_utf8(buf)?;
    Ok(match shell {
        // clap_complete names the subcommands' bash states after the binary
        // with its `-` mangled one way (`aws__subcmd__auth__...`) and the state
        // that leads to them another (`aws__auth`), so nothing below the top
        // level completed. One spelling for both.
        clap_complete::Shell::Bash => {
            let mut script = script.replace("aws__subcmd__auth", "aws__auth");
            for (flag, what) in FROM_KUBECONFIG {
                script = script.replace(
                    &format!("{flag})\n                    COMPREPLY=($(compgen -f \"${{cur}}\"))"),
                    &format!("{flag})\n                    COMPREPLY=($(compgen -W \"$(aws-auth __complete {what} 2>/dev/null)\" -- \"${{cur}}\"))"),
                );
            }
            script
        }
        clap_complete::Shell::Fish => script
            .lines()
            .map(|line| {
                let asked = FROM_KUBECONFIG.iter().find(|(flag, _)| {
                    line.contains(&format!(" -l {} ", &flag[2..])) && line.ends_with(" -r")
                });
                match asked {
                    Some((_, what)) => {
                        format!("{line} -f -a \"(aws-auth __complete {what} 2>/dev/null)\"\n")
                    }
                    None => format!("{line}\n"),
                }
            })
            .collect(),
        clap_complete::Shell::Zsh => {
            let mut script = script;
            for (flag, what) in FROM_KUBECONFIG {
                let spec = format!("'{flag}=[");
                script = script
                    .lines()
                    .map(|line| {
                        if line.starts_with(&spec) {
                            line.replace(
                                ":NAME:_default'",
                                &format!(":NAME:{{compadd -- ${{(f)\"$(aws-auth __complete {what} 2>/dev/null)\"}}}}'"),
                            ) + "\n"
                        } else {
                            format!("{line}\n")
                        }
                    })
                    .collect();
            }
            script
        }
        _ => script,
    })
}

/// The options whose values completion reads from the kubeconfig, and what
/// `aws-auth __complete` is asked for them.
const FROM_KUBECONFIG: [(&str, &str); 2] = [("--context", "contexts"), ("--cluster", "clusters")];

/// `cmd` as completion should offer it: without hidden options or
/// commands (a global a command does not use is kept hidden there, and
/// `--retry-delay` is for tests). Only what completion reads is kept: names,
/// help, values, arguments' order.
fn visible(cmd: &clap::Command) -> clap::Command {
    let mut out = clap::Command::new(cmd.get_name().to_owned())
        .disable_help_flag(true)
        .disable_version_flag(true)
        .disable_help_subcommand(true);
    if let Some(about) = cmd.get_about() {
        out = out.about(about.clone());
    }
    if let Some(version) = cmd.get_version() {
        out = out.version(version.to_owned());
    }
    for a in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
        let mut arg = clap::Arg::new(a.get_id().clone())
            .action(a.get_action().clone())
            .value_parser(a.get_value_parser().clone())
            .value_hint(a.get_value_hint());
        if let Some(long) = a.get_long() {
            arg = arg.long(long.to_owned());
        }
        if let Some(short) = a.get_short() {
            arg = arg.short(short);
        }
        if let Some(help) = a.get_help() {
            arg = arg.help(help.clone());
        }
        if let Some(names) = a.get_value_names() {
            arg = arg.value_names(names.to_vec());
        }
        if let Some(n) = a.get_num_args() {
            arg = arg.num_args(n);
        }
        if a.is_positional() {
            arg = arg.index(a.get_index().unwrap_or(1));
        }
        out = out.arg(arg);
    }
    for sc in cmd.get_subcommands().filter(|c| !c.is_hide_set()) {
        out = out.subcommand(visible(sc));
    }
    out
}

/// The command line, resolved once into [`Settings`] (the ARNs to protect
/// parsed, the guards built), then one match over the commands.
fn run(cli: &Cli) -> anyhow::Result<Report> {
    let settings = Settings::resolve(&cli.global)?;
    if let Some(contexts) = fleet::contexts(&settings, &cli.global.cluster, &cli.command)? {
        return fleet::run(
            &settings,
            &cli.command,
            contexts,
            usize::from(cli.global.cluster.parallel),
            run_command,
        );
    }
    run_command(&settings, &cli.command)
}

/// One command with `s`: one cluster, or one file.
fn run_command(s: &Settings, command: &Command) -> anyhow::Result<Report> {
    match command {
        Command::Completions { shell } => {
            Ok(Report::new(report::Verbatim(completion_script(*shell)?)))
        }
        Command::Complete { what } => {
            let (contexts, clusters) = eks_context::names(&s.kube);
            let names = match what {
                cli::Completable::Contexts => contexts,
                cli::Completable::Clusters => clusters,
            };
            let text: String = names.iter().map(|n| format!("{n}\n")).collect();
            Ok(Report::new(report::Verbatim(text)))
        }
        Command::Migrate(cmd) => migrate::run(s, cmd),
        Command::Fleet(args) => source::run_status(s, args),
        Command::Check(args) => check::run(s, args),
        Command::Access(cmd) => access::run(s, cmd),
        Command::Grant(a) => grant::run_grant(s, a),
        Command::Revoke(a) => grant::run_revoke(s, a),
        Command::Webhook(cli::WebhookCommand::Serve(args)) => {
            webhook::serve(args, &s.guards.protected)
        }
        Command::Webhook(cli::WebhookCommand::Manifests(args)) => webhook::install::manifests(args),
        Command::Webhook(cli::WebhookCommand::Certs(args)) => webhook::install::certs(args),
        Command::Map(cmd) => source::run(s, cmd),
    }
}
