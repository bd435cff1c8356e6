/**
 * Resource validation: the R4 JSON schema (structure) and the profiles of fhir-profiles/.
 *
 *   const validator = await createValidator({ requireProfiles: config.requireProfiles, profilesDir: config.profilesDir });
 *   validator.assertValid(body, { expectedType: 'Patient', expectedId: '123' }); // throws OperationOutcomeError
 *   const issues = validator.validate(body, { profiles: [url] });              // for $validate: all issues
 *   validator.supportedProfiles();                                             // { Patient: [url, ...] } for CapabilityStatement
 *
 * - `validate(resource, options?)` → OperationOutcomeIssue[]: every error, warning and information,
 *   never throws. Synchronous (validators compiled once per type and cached).
 * - `check(resource, options?)` → { issues, status }: status 200 when there is no error, 400 when
 *   the resource is not a valid R4 resource (JSON schema, unknown type, wrong resourceType/id),
 *   422 when it is valid R4 but violates a profile (See: https://hl7.org/fhir/R4/http.html#2.21.0.11.3).
 * - `assertValid(resource, options?)` → the resource typed as `Resource`, or throws an
 *   OperationOutcomeError with that status and only the error issues.
 * - Profile checks run only on structurally valid resources. Profiles checked: those claimed in
 *   `meta.profile` that we know (an unknown claimed profile is a warning), those passed in
 *   `options.profiles` (unknown → error), and, with `requireProfiles`, one of our profiles for the
 *   six central types (see REQUIRED_PROFILES_BY_TYPE and fhir-profiles/README.md).
 */
import type { OperationOutcomeIssue, Resource } from 'fhir/r4';
import { DEEPEST_STORABLE_JSON } from '../json/nesting-depth.ts';
import { issue, OperationOutcomeError } from '../outcome.ts';
import { releaseCoreStructureDefinitions } from './core-definitions.ts';
import { FhirSchema } from './fhir-schema.ts';
import { REQUIRED_PROFILES_BY_TYPE } from './portal-profiles.ts';
import { checkAgainstTree } from './profile-check.ts';
import { ProfileRegistry } from './profile-registry.ts';
import { validateStructure } from './structure.ts';

export { PORTAL_PROFILES, PORTAL_TERMINOLOGY, US_CORE_PROFILES, US_CORE_VERSION, REQUIRED_PROFILES_BY_TYPE } from './portal-profiles.ts';

export interface ValidatorConfig {
  /** Resources of the six central types must conform to one of our profiles. */
  requireProfiles: boolean;
  /** Folder of StructureDefinition/ValueSet/CodeSystem JSON (fhir-profiles/); none: structure only. */
  profilesDir?: string;
  /** Deepest nesting of objects and arrays accepted (config.maxJsonDepth); default: the most MongoDB can store. */
  maxDepth?: number;
}

export interface ValidateOptions {
  /** Profiles to check in addition to meta.profile (e.g. `$validate?profile=`). */
  profiles?: string[];
}

export interface AssertOptions extends ValidateOptions {
  /** Type the URL names; a different resourceType is a 400. */
  expectedType?: string;
  /** Id the URL names (update); a different or missing id is a 400. */
  expectedId?: string;
}

export interface ValidationResult {
  issues: OperationOutcomeIssue[];
  /** 200 no errors, 400 not valid R4, 422 profile violated. */
  status: 200 | 400 | 422;
}

export interface ResourceValidator {
  validate(resource: unknown, options?: ValidateOptions): OperationOutcomeIssue[];
  check(resource: unknown, options?: AssertOptions): ValidationResult;
  assertValid(resource: unknown, options?: AssertOptions): Resource;
  /** Profile canonicals we validate against, per resource type (CapabilityStatement.rest.resource.supportedProfile). */
  supportedProfiles(): Record<string, string[]>;
  supportedProfilesFor(resourceType: string): string[];
}

const hasError = (issues: OperationOutcomeIssue[]) => issues.some((i) => i.severity === 'error' || i.severity === 'fatal');

class Validator implements ResourceValidator {
  constructor(
    private readonly schema: FhirSchema,
    private readonly registry: ProfileRegistry,
    private readonly config: ValidatorConfig,
  ) {}

  validate(resource: unknown, options?: ValidateOptions): OperationOutcomeIssue[] {
    return this.check(resource, options).issues;
  }

  check(resource: unknown, options: AssertOptions = {}): ValidationResult {
    const structural = validateStructure(this.schema, resource, this.config.maxDepth ?? DEEPEST_STORABLE_JSON);
    const r = resource as Record<string, unknown>;
    if (structural.length === 0) {
      if (options.expectedType !== undefined && r.resourceType !== options.expectedType) {
        structural.push(issue('error', 'invalid', `resourceType '${String(r.resourceType)}' does not match the type in the URL ('${options.expectedType}')`, ['resourceType']));
      }
      if (options.expectedId !== undefined && r.id !== options.expectedId) {
        const msg = r.id === undefined ? `The resource has no id; the URL names '${options.expectedId}'` : `id '${String(r.id)}' does not match the id in the URL ('${options.expectedId}')`;
        structural.push(issue('error', 'invalid', msg, [`${String(r.resourceType)}.id`]));
      }
    }
    if (structural.length > 0) return { issues: structural, status: 400 };
    const issues = this.profileIssues(r, options.profiles ?? []);
    return { issues, status: hasError(issues) ? 422 : 200 };
  }

  assertValid(resource: unknown, options?: AssertOptions): Resource {
    const { issues, status } = this.check(resource, options);
    if (status !== 200) {
      throw new OperationOutcomeError(status, issues.filter((i) => i.severity === 'error' || i.severity === 'fatal'));
    }
    return resource as Resource;
  }

  supportedProfiles(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const p of this.registry.all()) (out[p.type] ??= []).push(p.url);
    for (const list of Object.values(out)) list.sort();
    return out;
  }

  supportedProfilesFor(resourceType: string): string[] {
    return this.supportedProfiles()[resourceType] ?? [];
  }

  /** Issues from one profile (an unknown profile → one issue of the given severity). */
  private checkProfile(resource: Record<string, unknown>, url: string, unknownSeverity: 'error' | 'warning'): OperationOutcomeIssue[] {
    const type = String(resource.resourceType);
    const profile = this.registry.get(url);
    if (!profile) {
      const why = unknownSeverity === 'warning' ? '; validated against base R4 only' : '';
      return [issue(unknownSeverity, 'not-supported', `Profile ${url} is not known to this server${why}`, [`${type}.meta.profile`])];
    }
    if (profile.type !== type) {
      return [issue('error', 'invalid', `Profile ${url} is for ${profile.type}, not ${type}`, [`${type}.meta.profile`])];
    }
    const ctx = { resource, profileUrl: profile.url, terminology: this.registry.terminology, issues: [] as OperationOutcomeIssue[] };
    checkAgainstTree(ctx, profile.tree, resource);
    return ctx.issues;
  }

  private profileIssues(resource: Record<string, unknown>, requested: string[]): OperationOutcomeIssue[] {
    const type = String(resource.resourceType);
    const meta = resource.meta as { profile?: string[] } | undefined;
    const claimed = meta?.profile ?? [];
    const issues: OperationOutcomeIssue[] = [];
    const seen = new Set<string>();
    for (const url of claimed) {
      if (seen.has(url)) continue;
      seen.add(url);
      issues.push(...this.checkProfile(resource, url, 'warning'));
    }
    for (const url of requested) {
      if (seen.has(url)) continue;
      seen.add(url);
      issues.push(...this.checkProfile(resource, url, 'error'));
    }

    const candidates = REQUIRED_PROFILES_BY_TYPE[type];
    if (this.config.requireProfiles && candidates) {
      const known = candidates.filter((c) => this.registry.get(c));
      const claimsOne = claimed.some((c) => known.some((k) => this.registry.get(c)?.url === k));
      if (!claimsOne && known.length > 0) {
        // The resource claims none of ours: it passes if it conforms to any of them.
        let firstIssues: OperationOutcomeIssue[] | undefined;
        let conforms = false;
        for (const url of known) {
          const found = this.checkProfile(resource, url, 'error');
          if (!hasError(found)) {
            conforms = true;
            break;
          }
          firstIssues ??= found;
        }
        if (!conforms) {
          issues.push(
            issue('error', 'invariant', `${type} resources must conform to one of: ${known.join(', ')} (server requires profiles)`, [type]),
            ...(firstIssues ?? []),
          );
        }
      }
    }
    return issues;
  }
}

/**
 * Builds the validator: loads the R4 schema and fhir-profiles/ (profiles, their ValueSets). Async
 * so that callers are not tied to it staying synchronous; it does all its work up front.
 */
export async function createValidator(config: ValidatorConfig): Promise<ResourceValidator> {
  const schema = new FhirSchema();
  const registry = new ProfileRegistry(config.profilesDir);
  releaseCoreStructureDefinitions();
  const v = new Validator(schema, registry, config);
  // Bound, so callers may pass the methods around (e.g. `supportedProfiles: validator.supportedProfilesFor`).
  return {
    validate: v.validate.bind(v),
    check: v.check.bind(v),
    assertValid: v.assertValid.bind(v),
    supportedProfiles: v.supportedProfiles.bind(v),
    supportedProfilesFor: v.supportedProfilesFor.bind(v),
  };
}
