// fhir-kit-client (the real client, over HTTP) with the fhir/r4 types on its results, so tests
// read typed resources. Only the calls the tests use are typed here.
import { Client } from 'fhir-kit-client';
import { authorizationFor } from './test-auth.ts';
import type { FhirResource } from 'fhir/r4';

type KitResource = Parameters<Client['create']>[0]['body'];
type JsonPatch = Parameters<Client['patch']>[0]['jsonPatch'];

const asKit = (r: FhirResource) => r as unknown as KitResource;
const fromKit = (r: unknown) => r as FhirResource;

/** fhir-kit-client with the test run's token for its server (support/test-auth.ts). */
export class FhirTestClient {
  private readonly client: Client;

  constructor(private readonly baseUrl: string) {
    this.client = new Client({ baseUrl });
  }

  /** The client, with a current token. */
  private async kitWithToken(): Promise<Client> {
    const header = (await authorizationFor(this.baseUrl)).authorization;
    if (header) this.client.bearerToken = header.slice('Bearer '.length);
    return this.client;
  }

  async create(p: { resourceType: string; body: FhirResource }): Promise<FhirResource> {
    return fromKit(await (await this.kitWithToken()).create({ resourceType: p.resourceType, body: asKit(p.body) }));
  }
  async read(p: { resourceType: string; id: string }): Promise<FhirResource> {
    return fromKit(await (await this.kitWithToken()).read(p));
  }
  async vread(p: { resourceType: string; id: string; version: string }): Promise<FhirResource> {
    return fromKit(await (await this.kitWithToken()).vread(p));
  }
  async update(p: { resourceType: string; id: string; body: FhirResource }): Promise<FhirResource> {
    return fromKit(await (await this.kitWithToken()).update({ resourceType: p.resourceType, id: p.id, body: asKit(p.body) }));
  }
  async patch(p: { resourceType: string; id: string; jsonPatch: JsonPatch }): Promise<FhirResource> {
    return fromKit(await (await this.kitWithToken()).patch(p));
  }
  async delete(p: { resourceType: string; id: string }): Promise<FhirResource> {
    return fromKit(await (await this.kitWithToken()).delete(p));
  }
  async history(p: { resourceType?: string; id?: string } = {}): Promise<FhirResource> {
    return fromKit(await (await this.kitWithToken()).history(p));
  }
  async transaction(p: { body: FhirResource }): Promise<FhirResource> {
    return fromKit(await (await this.kitWithToken()).transaction({ body: asKit(p.body) }));
  }
  async batch(p: { body: FhirResource }): Promise<FhirResource> {
    return fromKit(await (await this.kitWithToken()).batch({ body: asKit(p.body) }));
  }
  async capabilityStatement(): Promise<FhirResource> {
    return fromKit(await (await this.kitWithToken()).capabilityStatement());
  }
}
