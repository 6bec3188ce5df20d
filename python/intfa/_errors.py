"""IntfaError: a failing intfa status as a Python exception, with intfa_last_error()'s text."""


class IntfaError(RuntimeError):
    """libintfa-jit returned a status other than INTFA_OK.

    status: the intfa_status value; status_name: its name ("invalid argument", ...);
    message: intfa_last_error() of the failing call (names the argument and the value)."""

    def __init__(self, what, status, status_name, message):
        super().__init__("%s: %s: %s" % (what, status_name, message))
        self.status, self.status_name, self.message = status, status_name, message


def check(lib, status, what):
    """Raises IntfaError for a failing status of the call `what`, just made on this thread."""
    if status != 0:
        raise IntfaError(what, status, lib.intfa_status_string(status).decode(),
                         lib.intfa_last_error().decode())
