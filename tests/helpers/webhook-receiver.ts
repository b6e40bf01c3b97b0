// A shop's webhook endpoint for the tests: it keeps every delivery (headers and exact body, to verify the signature)
// and answers with the status the test chooses (204 by default).
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';

export interface Delivery {
  headers: IncomingHttpHeaders;
  body: string;
}

export class WebhookReceiver {
  readonly deliveries: Delivery[] = [];

  private constructor(private readonly server: Server) {}

  /** `status` answers each delivery, given it and every delivery so far (it included). */
  static async start(status: (delivery: Delivery, deliveries: Delivery[]) => number = () => 204): Promise<WebhookReceiver> {
    const server = createServer();
    const receiver = new WebhookReceiver(server);
    server.on('request', (req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        const delivery = { headers: req.headers, body };
        receiver.deliveries.push(delivery);
        res.statusCode = status(delivery, receiver.deliveries);
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get url(): string {
    const address = this.server.address();
    return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/hooks`;
  }

  close(): void {
    this.server.close();
  }
}
