// fhir-kit-client (the real client, over HTTP) with the fhir/r4 types on its results, so tests
// read typed resources. Only the calls the tests use are typed here.
import { Client } from 'fhir-kit-client';
import type { FhirResource } from 'fhir/r4';

type KitResource = Parameters<Client['create']>[0]['body'];
type JsonPatch = Parameters<Client['patch']>[0]['jsonPatch'];

const asKit = (r: FhirResource) => r as unknown as KitResource;
const fromKit = (r: unknown) => r as FhirResource;

export class FhirTestClient {
  readonly kit: Client;

  constructor(baseUrl: string) {
    this.kit = new Client({ baseUrl });
  }

  async create(p: { resourceType: string; body: FhirResource }): Promise<FhirResource> {
    return fromKit(await this.kit.create({ resourceType: p.resourceType, body: asKit(p.body) }));
  }
  async read(p: { resourceType: string; id: string }): Promise<FhirResource> {
    return fromKit(await this.kit.read(p));
  }
  async vread(p: { resourceType: string; id: string; version: string }): Promise<FhirResource> {
    return fromKit(await this.kit.vread(p));
  }
  async update(p: { resourceType: string; id: string; body: FhirResource }): Promise<FhirResource> {
    return fromKit(await this.kit.update({ resourceType: p.resourceType, id: p.id, body: asKit(p.body) }));
  }
  async patch(p: { resourceType: string; id: string; jsonPatch: JsonPatch }): Promise<FhirResource> {
    return fromKit(await this.kit.patch(p));
  }
  async delete(p: { resourceType: string; id: string }): Promise<FhirResource> {
    return fromKit(await this.kit.delete(p));
  }
  async history(p: { resourceType?: string; id?: string } = {}): Promise<FhirResource> {
    return fromKit(await this.kit.history(p));
  }
  async transaction(p: { body: FhirResource }): Promise<FhirResource> {
    return fromKit(await this.kit.transaction({ body: asKit(p.body) }));
  }
  async batch(p: { body: FhirResource }): Promise<FhirResource> {
    return fromKit(await this.kit.batch({ body: asKit(p.body) }));
  }
  async capabilityStatement(): Promise<FhirResource> {
    return fromKit(await this.kit.capabilityStatement());
  }
}
