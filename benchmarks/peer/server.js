// Reference server (b): express + ussd-menu-builder, sessions in Redis (ioredis).
// Walks the same 4-hop journey as benchmarks/journey.py. A new UssdMenu per request: the
// package's documented shared-instance pattern mixes up concurrent sessions.
// Run: PORT=8092 REDIS_URL=redis://127.0.0.1:6379/0 node server.js
'use strict';
const crypto = require('crypto');
const express = require('express');
const Redis = require('ioredis');
const UssdMenu = require('ussd-menu-builder');

const port = Number(process.env.PORT || 8092);
const redis = new Redis(process.env.REDIS_URL || 'redis://127.0.0.1:6379/0');
const TTL = 180;
const ALPHABET = '23456789ABCDEFGHJKMNPQRSTUVWXYZ';

function reference() {
  const bytes = crypto.randomBytes(8);
  let out = '';
  for (const b of bytes) out += ALPHABET[b % ALPHABET.length];
  return out;
}

const sessions = {
  start: (id) => Promise.resolve(),
  end: (id) => redis.del(`peer:${id}`),
  set: (id, key, value) =>
    redis.multi().hset(`peer:${id}`, key, value).expire(`peer:${id}`, TTL).exec(),
  get: (id, key) => redis.hget(`peer:${id}`, key),
};

function buildMenu() {
  const menu = new UssdMenu();
  menu.sessionConfig(sessions);
  menu.startState({
    run: () => {
      menu.session.set('started', '1').then(() =>
        menu.con('Bench\n1. Give feedback\n2. Track feedback'));
    },
    next: { 1: 'kind', 2: 'done' },
  });
  menu.state('kind', {
    run: () => {
      menu.con('Type of feedback\n1. Complaint\n2. Suggestion');
    },
    next: { 1: 'body', 2: 'body' },
  });
  menu.state('body', {
    run: () => {
      const kind = menu.val === '2' ? 'suggestion' : 'complaint';
      menu.session.set('kind', kind).then(() => menu.con('Type your message'));
    },
    next: { '*.+': 'send' },
  });
  menu.state('send', {
    run: () => {
      menu.session.get('kind').then(() => {
        const ref = reference();
        return menu.session.set('reference', ref).then(() =>
          menu.end(`Thank you. Reference: ${ref}`));
      });
    },
  });
  menu.state('done', { run: () => menu.end('Thank you. Reference: NONE') });
  menu.on('error', (err) => console.error('menu error', err.message));
  return menu;
}

const app = express();
app.use(express.urlencoded({ extended: false }));
app.get('/healthz', (req, res) => res.send('ok'));
app.post('/ussd/africastalking', (req, res) => {
  buildMenu().run(req.body, (reply) => {
    res.type('text/plain').send(reply);
  });
});
app.listen(port, '127.0.0.1', () => console.log(`peer listening on 127.0.0.1:${port}`));
