"""The `winalux` command line: click commands that parse options and call one function.

Exit status: 0 success, 1 invalid input or failed operation, 2 usage error (click's),
3 unexpected error, 130 interrupted. Data goes to stdout; logs and errors go to stderr.
"""

from __future__ import annotations

import logging
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


@click.group(
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


def _register() -> None:
    from winalux.cli import generate

    for command in generate.COMMANDS:
        cli.add_command(command)
    # Commands of the host agent, the CI plan and the workspace helpers register here as
    # their modules appear; each module exposes COMMANDS.
    for module_name in ("winalux.cli.plan", "winalux.cli.host", "winalux.cli.workspace"):
        try:
            module = __import__(module_name, fromlist=["COMMANDS"])
        except ModuleNotFoundError as err:
            if err.name != module_name:
                raise
            continue
        for command in module.COMMANDS:
            cli.add_command(command)


_register()


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
