// monitor.js: the live monitor's logic over owlsock-client.js.
//
// The server pushes {"type":"event","event":"stats","payload":{...}} with
// the counters of owl_socket_service_dup_stats() (connections-open,
// messages-in, messages-out, ...); the rates are the counters' differences
// over the time between two events.

import { OwlsockClient } from '../client/owlsock-client.js';

const $ = (id) => document.getElementById(id);
const hash = new URLSearchParams(location.hash.slice(1));
const path = new URLSearchParams(location.search).get('path') || '/ws/stats';
const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${path}`;
const client = new OwlsockClient(url, { token: () => hash.get('token') });
const points = [];   // {connections, rateIn, rateOut}
const keep = 120;
let last = null;

client.on('state', ({ state }) => {
  $('state').textContent = state;
  $('state').className = 'state ' + state;
  document.body.dataset.state = state;
});
client.on('error', (error) => { $('error').textContent = `${error.code}: ${error.message}`; });

client.on('event:stats', (stats) => {
  const now = performance.now();
  const point = { connections: stats['connections-open'] || 0, rateIn: 0, rateOut: 0 };
  if (last) {
    const seconds = Math.max((now - last.at) / 1000, 0.001);
    point.rateIn = Math.max(0, (stats['messages-in'] - last.in) / seconds);
    point.rateOut = Math.max(0, (stats['messages-out'] - last.out) / seconds);
  }
  last = { at: now, in: stats['messages-in'] || 0, out: stats['messages-out'] || 0 };
  points.push(point);
  if (points.length > keep) points.shift();
  $('connections').textContent = point.connections;
  $('rate-in').textContent = point.rateIn.toFixed(1);
  $('rate-out').textContent = point.rateOut.toFixed(1);
  document.body.dataset.samples = String(points.length);
  draw();
});

function draw () {
  const canvas = $('chart');
  const g = canvas.getContext('2d');
  const { width, height } = canvas;
  const pad = 30;
  const top = Math.max(1, ...points.map((p) => Math.max(p.connections, p.rateIn, p.rateOut)));
  g.clearRect(0, 0, width, height);
  g.strokeStyle = '#ddd';
  g.fillStyle = '#6b7280';
  g.font = '12px sans-serif';
  for (let i = 0; i <= 4; i++) {
    const y = pad + (height - 2 * pad) * i / 4;
    g.beginPath();
    g.moveTo(pad, y);
    g.lineTo(width - 10, y);
    g.stroke();
    g.fillText(String(Math.round(top * (4 - i) / 4)), 2, y + 4);
  }
  const series = [['connections', '#2563eb'], ['rateIn', '#15803d'], ['rateOut', '#b45309']];
  for (const [key, color] of series) {
    g.strokeStyle = color;
    g.lineWidth = 2;
    g.beginPath();
    points.forEach((p, i) => {
      const x = pad + (width - pad - 10) * i / (keep - 1);
      const y = height - pad - (height - 2 * pad) * p[key] / top;
      if (i === 0) g.moveTo(x, y);
      else g.lineTo(x, y);
    });
    g.stroke();
  }
}

window.owlsockClient = client;
draw();
client.connect();
