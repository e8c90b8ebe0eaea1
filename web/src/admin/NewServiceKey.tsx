import { type FormEvent, useState } from "react";
import { api } from "../shared/api.js";
import { Field } from "../shared/Field.js";
import { Notice } from "../shared/Notice.js";
import { SecretOnce } from "../shared/SecretOnce.js";
import type { ServiceKey } from "./ServiceKeys.js";

const maxNameLength = 100;

/**
 * Makes a service key with a name, then shows its secret once: the server keeps only a hash, so this
 * answer is the only place it exists. Dismissing the box forgets it for good.
 */
export function NewServiceKey({ onCreated }: { onCreated: (key: ServiceKey) => void }) {
  const [name, setName] = useState("");
  const [nameError, setNameError] = useState<string | undefined>();
  const [serverError, setServerError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [created, setCreated] = useState<{ key: ServiceKey; secret: string } | null>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setServerError(null);
    const trimmed = name.trim();
    if (trimmed.length < 1 || trimmed.length > maxNameLength) {
      setNameError(`Name the app that will use it, in 1 to ${maxNameLength} characters.`);
      return;
    }
    setNameError(undefined);
    setBusy(true);
    const result = await api<{ key: ServiceKey; secret: string }>("/api/admin/service-keys", {
      body: { name: trimmed },
    });
    setBusy(false);
    if (result.error) {
      setServerError(result.error.message);
      return;
    }
    setCreated(result.data);
    setName("");
    onCreated(result.data.key);
  }

  return (
    <div className="new-service-key">
      {created ? (
        <SecretOnce name={created.key.name} secret={created.secret} onDone={() => setCreated(null)} />
      ) : null}
      <form className="new-key-form" onSubmit={submit} noValidate>
        <Field
          label="New key's name"
          value={name}
          maxLength={maxNameLength}
          placeholder="prompt app"
          onChange={(event) => setName(event.target.value)}
          error={nameError}
        />
        <button type="submit" className="button-primary" disabled={busy}>
          {busy ? "Creating…" : "Create key"}
        </button>
      </form>
      {serverError ? <Notice tone="error">{serverError}</Notice> : null}
    </div>
  );
}
