'use strict';
// prom-client with collectDefaultMetrics() (process_*, nodejs_*), served on
// 127.0.0.1:$PORT/metrics; LEAK=1 leaks (see workload.js).
const http = require('node:http');
const client = require('prom-client');
const workload = require('./workload');

client.collectDefaultMetrics();
http.createServer(async (req, res) => {
  if (req.url !== '/metrics') {
    res.statusCode = 404;
    res.end();
    return;
  }
  res.setHeader('Content-Type', client.register.contentType);
  res.end(await client.register.metrics());
}).listen(Number(process.env.PORT), '127.0.0.1');
workload.start();
