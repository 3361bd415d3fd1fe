"""The JSON-RPC side of the rca language server: what pygls does not do as the LSP spec says.

`$/cancelRequest` also stops the worker of the request; a request before `initialize` or after
`shutdown` gets the error the spec names; nothing is sent once `exit` has come (pygls has closed
stdout by then); `exit` ends the process with the spec's code, 0 after `shutdown` and 1 without it
(`exit_code`, which `rca serve` exits with: pygls raises SystemExit with it, then catches that itself).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, cast

from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcInvalidRequest, JsonRpcServerNotInitialized
from pygls.protocol import LanguageServerProtocol

if TYPE_CHECKING:
    from rca_lsp.lsp.server import RcaServer

log = logging.getLogger(__name__)


class RcaProtocol(LanguageServerProtocol):
    exited = False  # after `exit`: the client is gone, nothing more is sent
    exit_code = 0  # what the process exits with: 1 for an `exit` with no `shutdown` before it
    shutdown_received = False  # pygls's `_shutdown` is set once its handler is done, maybe after `exit`

    def _handle_cancel_notification(self, msg_id):  # also stop the worker, not only the reply
        cast("RcaServer", self._server).jobs.cancel_request(msg_id)
        super()._handle_cancel_notification(msg_id)

    def handle_message(self, message):
        """Answers the requests the spec says to refuse, which pygls would run or never answer: before
        `initialize` (ServerNotInitialized; pygls ran them on no workspace, a traceback in the log) and
        after `shutdown` (InvalidRequest; pygls dropped them, leaving the client waiting)."""
        method, msg_id = getattr(message, "method", None), getattr(message, "id", None)
        if method == lsp.EXIT:  # the spec: 0 "if the shutdown request has been received before"
            self.exit_code = 0 if self.shutdown_received else 1
        elif method is not None:
            if msg_id is not None and self._shutdown:
                error = JsonRpcInvalidRequest(f"the rca server is shut down: {method} is not answered after "
                                              "`shutdown`; send `exit`, then start the server again")
                self._send_response(msg_id, None, error.to_response_error())
                return
            if self._workspace is None and method != lsp.INITIALIZE:
                if msg_id is not None:
                    early = JsonRpcServerNotInitialized(f"the rca server is not initialized: send `initialize` "
                                                        f"before {method}")
                    self._send_response(msg_id, None, early.to_response_error())
                else:
                    log.info("%s before initialize dropped", method)
                return
            self.shutdown_received = self.shutdown_received or method == lsp.SHUTDOWN
        super().handle_message(message)

    def _send_data(self, data):
        if self.exited:  # pygls closed stdout: each send would log a traceback (thousands while work ends)
            log.debug("not sent after exit: %.200s", data)
            return
        super()._send_data(data)
