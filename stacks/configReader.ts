import { Ipv4Cidr, parseCidr } from "../components/cidr";

/** The Pulumi project name; stack config keys are `fhir-platform:<key>`. */
export const PROJECT_NAME = "fhir-platform";

export type Raw = Record<string, unknown>;

export const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Collects problems while reading one config tree, so a single run reports all of them. */
export class Reader {
    readonly problems: string[] = [];

    problem(key: string, message: string): void {
        this.problems.push(`${PROJECT_NAME}:${key}: ${message}`);
    }

    object(value: unknown, key: string, allowed: readonly string[]): Raw {
        if (value === undefined) {
            this.problem(key, "is required");
            return {};
        }
        if (typeof value !== "object" || value === null || Array.isArray(value)) {
            this.problem(key, "must be a map");
            return {};
        }
        for (const k of Object.keys(value)) {
            if (!allowed.includes(k)) {
                this.problem(`${key}.${k}`, `is not a known setting (expected one of: ${allowed.join(", ")})`);
            }
        }
        return value as Raw;
    }

    string(value: unknown, key: string, pattern?: RegExp, hint?: string): string {
        if (value === undefined || value === "") {
            this.problem(key, "is required");
            return "";
        }
        if (typeof value !== "string") {
            this.problem(key, "must be a string");
            return "";
        }
        if (pattern && !pattern.test(value)) {
            this.problem(key, `"${value}" ${hint ?? `does not match ${pattern}`}`);
        }
        return value;
    }

    oneOf<T extends string | number>(value: unknown, key: string, allowed: readonly T[], why?: string): T {
        if (value === undefined) {
            this.problem(key, "is required");
            return allowed[0];
        }
        if (!allowed.includes(value as T)) {
            this.problem(key, `${JSON.stringify(value)} is not allowed (${why ?? `allowed: ${allowed.join(", ")}`})`);
            return allowed[0];
        }
        return value as T;
    }

    integer(value: unknown, key: string, min: number, max: number): number {
        const n = typeof value === "string" && /^-?\d+$/.test(value) ? Number(value) : value;
        if (n === undefined) {
            this.problem(key, "is required");
            return min;
        }
        if (typeof n !== "number" || !Number.isInteger(n)) {
            this.problem(key, `${JSON.stringify(value)} must be an integer`);
            return min;
        }
        if (n < min || n > max) {
            this.problem(key, `${n} is out of range (${min}–${max})`);
        }
        return n;
    }

    boolean(value: unknown, key: string): boolean {
        if (value === "true" || value === true) return true;
        if (value === "false" || value === false) return false;
        this.problem(key, value === undefined ? "is required" : `${JSON.stringify(value)} must be true or false`);
        return false;
    }

    stringList(value: unknown, key: string, check?: (item: string, itemKey: string) => void): string[] {
        if (value === undefined) return [];
        if (!Array.isArray(value) || value.some((v) => typeof v !== "string")) {
            this.problem(key, "must be a list of strings");
            return [];
        }
        value.forEach((item: string, i) => check?.(item, `${key}[${i}]`));
        return value as string[];
    }

    cidr(value: unknown, key: string): Ipv4Cidr | undefined {
        const text = this.string(value, key);
        if (!text) return undefined;
        const parsed = parseCidr(text);
        if (typeof parsed === "string") {
            this.problem(key, parsed);
            return undefined;
        }
        return parsed;
    }
}
