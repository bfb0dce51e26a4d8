/** Webhook URL safety and signatures (no database). */
import { sign, verify } from '../../src/webhooks/signature.js';
import { checkWebhookUrl, guardedLookup, isForbiddenAddress, ForbiddenAddressError } from '../../src/webhooks/url-guard.js';

describe('forbidden addresses', () => {
  it.each([
    '127.0.0.1', '10.0.0.8', '172.16.5.4', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', '::', 'fe80::1',
    'fd00:ec2::254', '::ffff:127.0.0.1', '::ffff:169.254.169.254', '224.0.0.1',
  ])('%s is refused', (address) => expect(isForbiddenAddress(address)).toBe(true));
  it.each(['93.184.215.14', '1.1.1.1', '2606:4700:4700::1111', '::ffff:8.8.8.8'])('%s is allowed', (address) => expect(isForbiddenAddress(address)).toBe(false));
});

describe('checkWebhookUrl', () => {
  const strict = { allowPrivate: false, httpsOnly: true };
  it('requires https in production and refuses private literals and credentials', async () => {
    await expect(checkWebhookUrl('http://93.184.215.14/x', strict)).rejects.toMatchObject({ problem: { errors: [{ pointer: '/body/url', message: 'must use https' }] } });
    await expect(checkWebhookUrl('https://127.0.0.1/x', strict)).rejects.toMatchObject({ problem: { status: 422 } });
    await expect(checkWebhookUrl('https://[::1]/x', strict)).rejects.toMatchObject({ problem: { status: 422 } });
    await expect(checkWebhookUrl('https://user:pw@93.184.215.14/x', strict)).rejects.toMatchObject({ problem: { status: 422 } });
    await expect(checkWebhookUrl('https://localhost/x', strict)).rejects.toMatchObject({ problem: { status: 422 } });
    await expect(checkWebhookUrl('https://93.184.215.14/hook', strict)).resolves.toBe('https://93.184.215.14/hook');
    await expect(checkWebhookUrl('http://127.0.0.1:8080/x', { allowPrivate: true, httpsOnly: false })).resolves.toBe('http://127.0.0.1:8080/x');
  });
  it('checks the address actually connected to at delivery (DNS rebinding)', async () => {
    const lookup = guardedLookup(false);
    const err = await new Promise<Error | null>((resolve) => lookup('localhost', {}, (e) => resolve(e)));
    expect(err).toBeInstanceOf(ForbiddenAddressError);
    const allowed = await new Promise<unknown>((resolve) => guardedLookup(true)('localhost', {}, (e, address) => resolve(e ?? address)));
    expect(typeof allowed).toBe('string');
  });
});

describe('Standard Webhooks signatures', () => {
  // The example of the Standard Webhooks specification (github.com/standard-webhooks/standard-webhooks, spec/standard-webhooks.md).
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  const id = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
  const timestamp = 1614265330;
  const body = '{"test": 2432232314}';
  it('match the specification example', () => {
    expect(sign(secret, id, timestamp, body)).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });
  it('verify one of several signatures and refuse a changed body', () => {
    const signature = `v1,bm9wZQ== ${sign(secret, id, timestamp, body)}`;
    expect(verify(secret, { id, timestamp: String(timestamp), signature }, body)).toBe(true);
    expect(verify(secret, { id, timestamp: String(timestamp), signature }, body.replace('2', '3'))).toBe(false);
  });
});
