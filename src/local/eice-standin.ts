/**
 * A stand-in for EC2 Instance Connect Endpoints on loopback (DESIGN §6, docs/eice.md): the
 * OpenTunnel WebSocket of `lkp tunnel`. Like AWS it checks the presigned URL's SigV4 (service
 * ec2-instance-connect, the caller's own credentials, X-Amz-Expires), the endpoint id and the query,
 * then bridges binary frames to the target's port, and closes the tunnel after maxTunnelDuration
 * seconds (default and ceiling 3600). Private IPs map to local ports: nothing leaves loopback.
 */
import { createServer, type IncomingMessage } from 'node:http';
import { connect, isIP, type AddressInfo, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { headerPairs } from './standin-server.js';
import { verifyPresignedSigV4, type SigningCredentials } from './sigv4-verify.js';

const SERVICE = 'ec2-instance-connect';
const MAX_TUNNEL_SECONDS = 3600;
/** SigV4's usual tolerance for a clock ahead of the server's. */
const MAX_SKEW_MS = 5 * 60 * 1000;
const QUERY = ['instanceConnectEndpointId', 'remotePort', 'privateIpAddress', 'maxTunnelDuration'];

/** Where the endpoint would connect, and where the stand-in connects instead. */
export interface EiceRoute {
  privateIp: string;
  remotePort: number;
  /** A loopback port (e.g. the demo's sshd). */
  localPort: number;
}

export interface EiceEvent {
  kind: 'refused' | 'opened' | 'closed';
  /** refused: why (the status and AWS-like message); closed: who ended it. */
  detail: string;
  privateIp?: string;
  remotePort?: number;
}

export interface EiceStandin {
  /** `ws://127.0.0.1:PORT`: what LKP_EICE_URL points the client at. */
  url: string;
  endpointId: string;
  setRoutes(routes: readonly EiceRoute[]): void;
  /** Tunnels open now. */
  openTunnels(): number;
  events(): readonly EiceEvent[];
  close(): Promise<void>;
}

class Refusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export async function startEiceStandin(opts: {
  region: string;
  endpointId: string;
  /** Access key id → credentials, as IAM knows them (the STS stand-in's principals). */
  findCredentials(accessKeyId: string): SigningCredentials | undefined;
  routes?: readonly EiceRoute[];
}): Promise<EiceStandin> {
  let routes = [...(opts.routes ?? [])];
  const events: EiceEvent[] = [];
  const open = new Set<WebSocket>();
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  const server = createServer((_req, res) => {
    res.writeHead(426, { 'Content-Type': 'text/plain' });
    res.end('OpenTunnel is a WebSocket: send an Upgrade request\n');
  });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    let target: { ip: string; port: number; localPort: number; seconds: number };
    try {
      target = admit(req);
    } catch (e) {
      const r = e instanceof Refusal ? e : new Refusal(500, 'InternalError', String(e));
      events.push({ kind: 'refused', detail: `${r.status} ${r.code}: ${r.message}` });
      const body = JSON.stringify({ Code: r.code, Message: r.message });
      socket.end(
        `HTTP/1.1 ${r.status} ${r.status === 403 ? 'Forbidden' : r.status === 404 ? 'Not Found' : 'Bad Request'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => bridge(ws, target));
  });

  /** What AWS checks before it opens a tunnel: the signature, the endpoint, the query. */
  function admit(req: IncomingMessage) {
    const target = req.url ?? '';
    const url = new URL(target, 'ws://stand-in');
    if (url.pathname !== '/openTunnel') throw new Refusal(404, 'NotFound', `no such path ${url.pathname}`);
    const verdict = verifyPresignedSigV4(
      { method: req.method ?? '', target, headers: headerPairs(req.rawHeaders) },
      {
        region: opts.region,
        service: SERVICE,
        now: new Date(),
        maxSkewMs: MAX_SKEW_MS,
        findCredentials: opts.findCredentials,
      },
    );
    if (!verdict.ok) throw new Refusal(403, verdict.code, verdict.message);
    const q = url.searchParams;
    const unknown = [...q.keys()].find((k) => !k.startsWith('X-Amz-') && !QUERY.includes(k));
    if (unknown !== undefined) throw new Refusal(400, 'InvalidParameter', `unknown parameter ${unknown}`);
    if (q.get('instanceConnectEndpointId') !== opts.endpointId)
      throw new Refusal(400, 'InvalidParameter', 'instanceConnectEndpointId does not name this endpoint');
    const ip = q.get('privateIpAddress') ?? '';
    const port = Number(q.get('remotePort'));
    if (isIP(ip) === 0) throw new Refusal(400, 'InvalidParameter', 'privateIpAddress must be an IP address');
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      throw new Refusal(400, 'InvalidParameter', 'remotePort must be a port number');
    const asked = q.get('maxTunnelDuration');
    const seconds = asked === null ? MAX_TUNNEL_SECONDS : Number(asked);
    if (!/^\d+$/.test(asked ?? '1') || seconds < 1 || seconds > MAX_TUNNEL_SECONDS)
      throw new Refusal(400, 'InvalidParameter', `maxTunnelDuration must be 1 to ${MAX_TUNNEL_SECONDS}`);
    const route = routes.find((r) => r.privateIp === ip && r.remotePort === port);
    if (route === undefined) throw new Refusal(400, 'ConnectionFailed', `nothing listens on ${ip}:${port}`);
    return { ip, port, localPort: route.localPort, seconds };
  }

  function bridge(ws: WebSocket, t: { ip: string; port: number; localPort: number; seconds: number }) {
    open.add(ws);
    events.push({ kind: 'opened', detail: `${t.seconds} s`, privateIp: t.ip, remotePort: t.port });
    const tcp: Socket = connect({ host: '127.0.0.1', port: t.localPort });
    let closedBy = 'client';
    const limit = setTimeout(() => {
      closedBy = 'maxTunnelDuration';
      ws.close(1000, 'maximum tunnel duration reached');
      tcp.destroy();
    }, t.seconds * 1000);
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) return ws.close(1003, 'binary frames only');
      if (!tcp.write(data)) ws.pause();
    });
    tcp.on('drain', () => ws.resume());
    tcp.on('data', (chunk: Buffer) => {
      ws.send(chunk, { binary: true });
      if (ws.bufferedAmount > 1 << 20) {
        tcp.pause();
        const wait = setInterval(() => {
          if (ws.bufferedAmount <= 1 << 20 || ws.readyState !== ws.OPEN) {
            clearInterval(wait);
            tcp.resume();
          }
        }, 5);
      }
    });
    tcp.on('end', () => {
      if (closedBy === 'client') closedBy = 'target';
      ws.close(1000);
    });
    tcp.on('error', () => ws.close(1011, 'connection to the target failed'));
    ws.on('close', () => {
      clearTimeout(limit);
      tcp.destroy();
      open.delete(ws);
      events.push({ kind: 'closed', detail: closedBy, privateIp: t.ip, remotePort: t.port });
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}`,
    endpointId: opts.endpointId,
    setRoutes: (list) => {
      routes = [...list];
    },
    openTunnels: () => open.size,
    events: () => [...events],
    close: async () => {
      for (const ws of open) ws.terminate();
      wss.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
