/**
 * The webhook's TLS material, the way Knative's and Tekton's webhooks keep
 * it: the controller makes a CA and a serving certificate for its Service,
 * stores both in one Secret (every replica serves the same certificate), and
 * patches the CA into the MutatingWebhookConfiguration so the API server
 * trusts it. Keys come from node:crypto; node-forge writes the X.509.
 */
import { generateKeyPairSync, X509Certificate, randomBytes } from 'node:crypto';
import forge from 'node-forge';
import type { Kube } from './kube.ts';
import { isStatus, orNotFound } from './kube.ts';

/** PEM-encoded TLS material kept in the webhook Secret. */
export interface WebhookCerts {
  readonly caCert: string;
  readonly serverCert: string;
  readonly serverKey: string;
}

/** Keys of the webhook Secret's data. */
export const CERT_KEYS = { caCert: 'ca-cert.pem', serverCert: 'server-cert.pem', serverKey: 'server-key.pem' } as const;

const DAY_MS = 86_400_000;

/** The DNS names the API server may use for a Service: short, namespaced, `.svc` and the cluster domain. */
export function serviceDnsNames(service: string, namespace: string): string[] {
  return [service, `${service}.${namespace}`, `${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`];
}

function keyPair(): { privateKey: string; publicKey: string } {
  return generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
}

function certificate(o: {
  readonly subjectCn: string; readonly publicKey: string; readonly signingKey: string; readonly issuer?: forge.pki.Certificate;
  readonly ca: boolean; readonly dnsNames?: readonly string[]; readonly now: number; readonly days: number;
}): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(o.publicKey);
  // A positive 16-byte serial (the top bit clear), as RFC 5280 asks.
  cert.serialNumber = `0${randomBytes(15).toString('hex')}`;
  cert.validity.notBefore = new Date(o.now - 5 * 60_000);
  cert.validity.notAfter = new Date(o.now + o.days * DAY_MS);
  const subject = [{ name: 'commonName', value: o.subjectCn }, { name: 'organizationName', value: 'pipod' }];
  cert.setSubject(subject);
  cert.setIssuer(o.issuer ? o.issuer.subject.attributes : subject);
  cert.setExtensions(o.ca
    ? [{ name: 'basicConstraints', cA: true, critical: true }, { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true }, { name: 'subjectKeyIdentifier' }]
    : [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: (o.dnsNames ?? []).map((value) => ({ type: 2, value })) },
    ]);
  cert.sign(forge.pki.privateKeyFromPem(o.signingKey), forge.md.sha256.create());
  return cert;
}

/** Makes a CA (10 years) and a serving certificate for the Service (1 year) signed by it. */
export function generateWebhookCerts(service: string, namespace: string, now = Date.now()): WebhookCerts {
  const caKeys = keyPair();
  const ca = certificate({ subjectCn: `${service}-ca`, publicKey: caKeys.publicKey, signingKey: caKeys.privateKey, ca: true, now, days: 3650 });
  const serverKeys = keyPair();
  const dnsNames = serviceDnsNames(service, namespace);
  const server = certificate({ subjectCn: dnsNames[2] ?? service, publicKey: serverKeys.publicKey, signingKey: caKeys.privateKey, issuer: ca, ca: false, dnsNames, now, days: 365 });
  return { caCert: forge.pki.certificateToPem(ca), serverCert: forge.pki.certificateToPem(server), serverKey: serverKeys.privateKey };
}

/**
 * Whether stored certificates still do for this Service: parseable, the
 * server's chain checks against the CA, every Service name covered, and more
 * than 30 days left (then a replica replaces them).
 */
export function certsUsable(c: WebhookCerts | undefined, service: string, namespace: string, now = Date.now()): boolean {
  if (!c) return false;
  try {
    const ca = new X509Certificate(c.caCert);
    const server = new X509Certificate(c.serverCert);
    if (!server.checkIssued(ca) || !server.verify(ca.publicKey)) return false;
    if (new Date(server.validTo).getTime() - now < 30 * DAY_MS || new Date(server.validFrom).getTime() > now + 60_000) return false;
    return serviceDnsNames(service, namespace).every((n) => server.checkHost(n) !== undefined);
  } catch {
    return false;
  }
}

function fromSecret(data: Readonly<Record<string, string>> | undefined): WebhookCerts | undefined {
  const get = (k: string): string | undefined => (data?.[k] ? Buffer.from(data[k], 'base64').toString('utf8') : undefined);
  const caCert = get(CERT_KEYS.caCert);
  const serverCert = get(CERT_KEYS.serverCert);
  const serverKey = get(CERT_KEYS.serverKey);
  return caCert && serverCert && serverKey ? { caCert, serverCert, serverKey } : undefined;
}

function secretData(c: WebhookCerts): Record<string, string> {
  const b = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
  return { [CERT_KEYS.caCert]: b(c.caCert), [CERT_KEYS.serverCert]: b(c.serverCert), [CERT_KEYS.serverKey]: b(c.serverKey) };
}

/**
 * The certificates in the Secret, made (or renewed) first when they do not
 * do. Replicas race safely: creation and replacement are compare-and-swap,
 * and the loser of a 409 reads the winner's certificates.
 */
export async function ensureWebhookCerts(kube: Kube, o: { readonly namespace: string; readonly secret: string; readonly service: string }): Promise<WebhookCerts> {
  for (let i = 0; i < 3; i++) {
    const secret = await orNotFound(kube.getSecret(o.namespace, o.secret));
    const current = fromSecret(secret?.data);
    if (certsUsable(current, o.service, o.namespace) && current) return current;
    const fresh = generateWebhookCerts(o.service, o.namespace);
    try {
      if (secret) await kube.replaceSecret(o.namespace, { ...secret, data: secretData(fresh) });
      else {
        await kube.createSecret(o.namespace, {
          metadata: { name: o.secret, namespace: o.namespace, labels: { 'app.kubernetes.io/name': 'pipod', 'app.kubernetes.io/component': 'webhook' } },
          type: 'Opaque', data: secretData(fresh),
        });
      }
      return fresh;
    } catch (e) {
      if (!isStatus(e, 409)) throw e;
    }
  }
  throw new Error(`could not settle the webhook certificates in Secret ${o.namespace}/${o.secret} (kept conflicting)`);
}

/** The JSON patch that puts the CA into every webhook of the configuration that lacks it; empty when all have it. */
export function caBundlePatch(config: { readonly webhooks?: readonly { readonly clientConfig?: { readonly caBundle?: string } }[] }, caCert: string): { op: string; path: string; value: string }[] {
  const bundle = Buffer.from(caCert, 'utf8').toString('base64');
  return (config.webhooks ?? []).flatMap((w, i) => (w.clientConfig?.caBundle === bundle ? [] : [{ op: 'add', path: `/webhooks/${i}/clientConfig/caBundle`, value: bundle }]));
}

/** Patches the CA into the MutatingWebhookConfiguration when it is not there yet; true when it wrote. */
export async function syncCaBundle(kube: Kube, configName: string, caCert: string): Promise<boolean> {
  const config = await orNotFound(kube.getMutatingWebhook(configName));
  if (!config) return false;
  const ops = caBundlePatch(config, caCert);
  if (ops.length === 0) return false;
  await kube.patchMutatingWebhook(configName, ops);
  return true;
}
