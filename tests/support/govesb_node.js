// The GoVESB JS connector's steps (GovEsbHelper.js verifyThenReturnData, decrypt, encrypt),
// written for the tests with node's built-in crypto only. Reads a job as JSON on stdin:
//   body + signerPublicPem: verify body's signature over JSON.stringify(JSON.parse(body).data)
//   recipientPrivatePem: also open data.esbBody, an encrypted body
//   encryptTo + plaintext: seal plaintext for that public key
// and writes {dataString, verified, plaintext, sealed} as JSON on stdout.
'use strict';
const crypto = require('crypto');

const job = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const INFO = Buffer.from('aes-encryption');
const aesKey = (secret) =>
  Buffer.from(crypto.hkdfSync('sha256', secret, Buffer.alloc(32), INFO, 32));
const out = {};

if (job.body) {
  const node = JSON.parse(job.body);
  out.dataString = JSON.stringify(node.data);
  const verify = crypto.createVerify('sha256');
  verify.update(Buffer.from(out.dataString, 'utf8'));
  verify.end();
  const signature = Buffer.from(node.signature, 'base64');
  out.verified = verify.verify({ key: job.signerPublicPem }, signature);
  if (job.recipientPrivatePem) {
    const sealed = node.data.esbBody;
    const data = Buffer.from(sealed.encryptedData, 'base64');
    const ephemeralPem = Buffer.from(sealed.ephemeralKey, 'base64').toString('utf8');
    const secret = crypto.diffieHellman({
      privateKey: crypto.createPrivateKey(job.recipientPrivatePem),
      publicKey: crypto.createPublicKey(ephemeralPem),
    });
    const iv = Buffer.from(sealed.iv, 'base64');
    const decipher = crypto.createDecipheriv('aes-256-gcm', aesKey(secret), iv);
    decipher.setAuthTag(data.subarray(0, 16));
    const plain = Buffer.concat([decipher.update(data.subarray(16)), decipher.final()]);
    out.plaintext = plain.toString('utf8');
  }
}

if (job.encryptTo) {
  const recipient = crypto.createPublicKey(job.encryptTo);
  const curve = recipient.asymmetricKeyDetails.namedCurve;
  const pair = crypto.generateKeyPairSync('ec', { namedCurve: curve });
  const secret = crypto.diffieHellman({ privateKey: pair.privateKey, publicKey: recipient });
  const iv = crypto.randomBytes(12);
  const cipher = crypto.createCipheriv('aes-256-gcm', aesKey(secret), iv);
  const ciphertext = Buffer.concat([cipher.update(Buffer.from(job.plaintext)), cipher.final()]);
  const ephemeralPem = pair.publicKey.export({ type: 'spki', format: 'pem' });
  out.sealed = {
    ephemeralKey: Buffer.from(ephemeralPem, 'utf8').toString('base64'),
    iv: iv.toString('base64'),
    encryptedData: Buffer.concat([cipher.getAuthTag(), ciphertext]).toString('base64'),
  };
}

process.stdout.write(JSON.stringify(out));
