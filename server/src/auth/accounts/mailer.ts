// Outgoing mail (invitations, password resets, set-password links, username reminders): SMTP
// from configuration (SMTP_URL), or, without one (development, tests), .eml files in
// DATA_DIR/outbox that a developer opens with any mail program and tests read.
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import nodemailer, { type Transporter } from 'nodemailer';
import type { MailConfig } from '../../config.ts';

export interface MailMessage {
  to: string;
  subject: string;
  /** Plain text; every message is readable without HTML. */
  text: string;
}

export interface Mailer {
  send(message: MailMessage): Promise<void>;
}

export function createMailer(config: MailConfig): Mailer {
  if (config.smtpUrl) {
    const transport: Transporter = nodemailer.createTransport(config.smtpUrl);
    return {
      async send(message) {
        await transport.sendMail({ from: config.from, ...message });
      },
    };
  }
  // streamTransport builds the complete RFC 5322 message without sending it anywhere.
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  return {
    async send(message) {
      const info = (await transport.sendMail({ from: config.from, ...message })) as { message: Buffer };
      fs.mkdirSync(config.outboxDir, { recursive: true });
      const name = `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomUUID().slice(0, 8)}.eml`;
      // Written whole under a temporary name, then renamed: a reader never sees half a message.
      const file = path.join(config.outboxDir, name);
      fs.writeFileSync(`${file}.tmp`, info.message, { mode: 0o600 });
      fs.renameSync(`${file}.tmp`, file);
    },
  };
}
