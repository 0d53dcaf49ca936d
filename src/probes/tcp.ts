/** TcpProbe: connect to address:check.port, then close. Ok means "connected". */
import { connect } from 'node:net';
import { probeAttempt } from './attempt.ts';
import { errorReason } from './reason.ts';
import type { ProbeFn } from './types.ts';

export const tcpProbe: ProbeFn = (spec, signal) =>
  probeAttempt(spec.check.timeout, signal, (finish) => {
    const socket = connect({ host: spec.address, port: spec.check.port });
    socket.once('connect', () => finish(true, 'connected'));
    socket.on('error', (err) => finish(false, errorReason(err), err));
    socket.on('close', () => finish(false, 'reset'));
    return () => {
      socket.destroy();
    };
  });
