// A demo backend for docker-compose.yml: answers /healthz with 200 "ok" and
// anything else with its name. Stop it (docker compose stop web1) to see
// failoverd fail over; start it again to see failback.
const http = require('node:http');
const name = process.env.BACKEND_NAME || 'backend';
http
  .createServer((req, res) => {
    res.setHeader('content-type', 'text/plain');
    res.end(req.url === '/healthz' ? 'ok\n' : `hello from ${name}\n`);
  })
  .listen(Number(process.env.PORT || 8080), '0.0.0.0');
