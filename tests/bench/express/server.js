// Baseline for the stripe-chat load benchmark (tests/bench/run.sh).
//
// A plain Express app with the official `stripe` package that ONLY verifies the webhook signature
// on the raw body and answers 200. It stores nothing, so it is not durable: it is the floor of what
// a typical Node.js webhook endpoint costs, not an equivalent of stripe-chat.
//
//   STRIPE_WEBHOOK_SECRET=whsec_... PORT=18082 node server.js

'use strict';

const express = require('express');
const Stripe = require('stripe');

const secret = process.env.STRIPE_WEBHOOK_SECRET;
if (!secret) {
  console.error('STRIPE_WEBHOOK_SECRET is not set');
  process.exit(2);
}
const host = process.env.HOST || '127.0.0.1';
const port = Number(process.env.PORT || 18082);

// constructEvent needs no API call; the key is never used.
const stripe = new Stripe('sk_test_unused');
const app = express();

app.post('/webhooks/stripe', express.raw({ type: 'application/json', limit: '1mb' }), (req, res) => {
  try {
    stripe.webhooks.constructEvent(req.body, req.headers['stripe-signature'], secret);
  } catch (err) {
    res.status(400).send(`Webhook Error: ${err.message}`);
    return;
  }
  res.sendStatus(200);
});

app.get('/healthz', (req, res) => res.sendStatus(200));

app.listen(port, host, () => {
  console.error(`express baseline listening on http://${host}:${port}/webhooks/stripe`);
});
