"""The `winalux` command line: click commands that parse options and call one function.

Exit status: 0 success, 1 invalid input or failed operation, 2 usage error (click's),
3 unexpected error, 130 interrupted. Data goes to stdout; logs and errors go to stderr.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys

import click

from winalux import __version__

EXIT_STATUS_HELP = (
    "Exit status: 0 success, 1 invalid input or failed operation, 2 usage error, "
    "3 unexpected error."
)


class UserError(click.ClickException):
    """An error caused by input or host state, shown without a traceback; exits 1."""

    exit_code = 1

    def show(self, file: object = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


def configure_logging(verbosity: int) -> None:
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("winalux")
    root.handlers[:] = [handler]
    root.setLevel(level)


# Command name -> "module:attribute". Modules load only when their command runs, so that
# `winalux render` does not pay for importing GitPython and the host agent.
LAZY_COMMANDS = {
    "validate": "winalux.cli.generate:validate",
    "render": "winalux.cli.generate:render_command",
    "diff": "winalux.cli.generate:diff",
    "schema": "winalux.cli.generate:schema",
    "plan": "winalux.cli.plan:plan_command",
    "sync": "winalux.cli.host:sync_command",
    "status": "winalux.cli.host:status_command",
    "token": "winalux.cli.host:token_group",
    "purge": "winalux.cli.host:purge_command",
    "host": "winalux.cli.host:host_group",
    "doctor": "winalux.cli.host:doctor_command",
    "ssh-config": "winalux.cli.workspace:ssh_config",
    "collect": "winalux.cli.workspace:collect",
}


class LazyGroup(click.Group):
    """A click group that imports each command's module on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(LAZY_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = LAZY_COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, _, attribute = target.partition(":")
        command = getattr(importlib.import_module(module_name), attribute)
        assert isinstance(command, click.Command)
        return command


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=EXIT_STATUS_HELP,
)
@click.version_option(__version__, prog_name="winalux")
@click.option(
    "-v", "--verbose", count=True, help="Log more: -v for progress, -vv for commands run."
)
def cli(verbose: int) -> None:
    """Validate developer workspace files and run them as rootless Podman Quadlet units."""
    configure_logging(verbose)
    # Units, state and settings must never be writable by other users, whatever umask the
    # caller (a login shell, a CI runner, a systemd unit) passes down.
    os.umask(os.umask(0) | 0o022)


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Exit as exit_:
        sys.exit(exit_.exit_code)
    except click.ClickException as err:
        err.show()
        sys.exit(err.exit_code)
    except click.exceptions.Abort:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(1)
    except Exception:
        logging.getLogger("winalux").exception("unexpected error; please report it with this trace")
        sys.exit(3)
    sys.exit(0)
