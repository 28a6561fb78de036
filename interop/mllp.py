"""The MLLP listener: HL7 v2 messages over TCP, one ACK per message, many senders at once.

Framing and the socket server come from python-hl7 (hl7.mllp). Each connection is served
in order (a sender waits for the ACK of one message before the next, as MLLP expects);
connections are served side by side, the filing itself in a pool of threads, each with its
own database connection. Whatever a message holds, the listener answers and goes on.
"""

import asyncio
import logging
import signal
import uuid
from asyncio import IncompleteReadError
from concurrent.futures import ThreadPoolExecutor

from django.db import close_old_connections
from hl7.mllp import HL7StreamReader, HL7StreamWriter, InvalidBlockError, start_hl7_server

from audit.context import Actor, acting
from audit.models import Via

from . import hl7v2, services
from .models import AckCode, Channel

logger = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 4 * 1024 * 1024


def decode(block: bytes) -> str:
    try:
        return block.decode("utf-8")
    except UnicodeDecodeError:
        return block.decode("latin-1")  # HL7 v2's traditional 8-bit character set


def answer(block: bytes, peer: str = "") -> str:
    """File one framed message and return its ACK; runs in a worker thread."""
    close_old_connections()  # a connection the database dropped is replaced, not reused
    text = decode(block)
    try:
        # The audit records what the message writes as an import from this sender.
        importing = Actor(via=Via.IMPORT, request_id=uuid.uuid4().hex, remote_addr=peer[:64])
        with acting(importing):
            return services.receive_hl7(text, channel=Channel.MLLP).ack
    except Exception:
        # Even keeping the message failed (the database is away): the sender must resend.
        logger.exception("An HL7 message could not be taken")
        problem = hl7v2.Problem(hl7v2.APPLICATION_ERROR, "The message could not be taken now.")
        return hl7v2.ack(text, AckCode.ERROR, problem=problem)
    finally:
        close_old_connections()


class Listener:
    def __init__(self, host: str, port: int, workers: int) -> None:
        self.host = host
        self.port = port
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="hl7")
        self.connections: set[asyncio.Task] = set()

    async def serve_connection(self, reader: HL7StreamReader, writer: HL7StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        loop = asyncio.get_running_loop()
        try:
            while True:
                try:
                    block = await reader.readblock()
                except IncompleteReadError:
                    return  # the sender closed the connection
                except InvalidBlockError:
                    logger.warning("MLLP frame from %s without its start byte: skipped", peer)
                    continue
                except ValueError:
                    logger.warning("MLLP frame from %s over %s bytes: refused", peer, reader._limit)
                    writer.writeblock(
                        hl7v2.ack(
                            "",
                            AckCode.REJECTED,
                            problem=hl7v2.Problem(
                                hl7v2.DATA_TYPE_ERROR, "The message is too large."
                            ),
                        ).encode()
                    )
                    await writer.drain()
                    continue
                address = peer[0] if isinstance(peer, tuple) else ""
                reply = await loop.run_in_executor(self.pool, answer, block, address)
                writer.writeblock(reply.encode("utf-8"))
                await writer.drain()
        except (ConnectionError, OSError):
            logger.info("MLLP connection from %s lost", peer)
        finally:
            writer.close()

    def on_connect(self, reader: HL7StreamReader, writer: HL7StreamWriter) -> None:
        task = asyncio.get_running_loop().create_task(self.serve_connection(reader, writer))
        self.connections.add(task)
        task.add_done_callback(self.connections.discard)

    async def run(self, ready: "asyncio.Event | None" = None) -> None:
        server = await start_hl7_server(
            self.on_connect, self.host, self.port, limit=MAX_MESSAGE_BYTES
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        bound = server.sockets[0].getsockname()
        logger.info("HL7 MLLP listener on %s:%s", bound[0], bound[1])
        print(f"HL7 MLLP listener on {bound[0]}:{bound[1]}", flush=True)
        async with server:
            await stop.wait()
            server.close()
            # Let each connection finish the message it is filing.
            for task in list(self.connections):
                task.cancel()
            await asyncio.gather(*self.connections, return_exceptions=True)
        self.pool.shutdown(wait=True)
