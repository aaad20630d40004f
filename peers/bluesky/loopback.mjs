// Preloaded with `node --import`: every server that listens on a port without naming a host
// binds 127.0.0.1 only. The AT Protocol servers otherwise listen on all interfaces, and this
// machine must not expose them.
import net from 'node:net';

const listen = net.Server.prototype.listen;
const isPort = (value) =>
  typeof value === 'number' || (typeof value === 'string' && /^\d+$/.test(value));

net.Server.prototype.listen = function (...args) {
  const [first, second] = args;
  if (isPort(first)) {
    // listen(port), listen(port, callback), listen(port, backlog?) -> insert the host.
    if (args.length === 1 || typeof second === 'function') args.splice(1, 0, '127.0.0.1');
  } else if (first && typeof first === 'object' && first.port !== undefined && !first.host) {
    args[0] = { ...first, host: '127.0.0.1' };
  } else if (args.length === 0 || typeof first === 'function') {
    // listen() or listen(callback): a random port, still on loopback.
    args.unshift(0, '127.0.0.1');
  }
  return listen.apply(this, args);
};
