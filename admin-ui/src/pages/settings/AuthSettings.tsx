// Sign-in and registration (reference system-settings/auth). The switches of
// sign-in methods this gateway does not run yet are shown with what the
// server reports for them in /api/status.
import { bool, secret, str, url, type SectionDef } from './fieldtypes';
import type { OptionMap } from './options';
import { SectionList } from './SectionList';

export const AUTH_SECTIONS: SectionDef[] = [
  {
    id: 'basicAuth',
    fields: [
      bool('RegisterEnabled', { statusKey: 'register_enabled' }),
      bool('PasswordLoginEnabled', { statusKey: 'password_login_enabled' }),
      bool('PasswordRegisterEnabled', { statusKey: 'password_register_enabled' }),
      bool('EmailVerificationEnabled', { statusKey: 'email_verification' }),
      bool('EmailDomainRestrictionEnabled'),
      bool('EmailAliasRestrictionEnabled'),
      str('EmailDomainWhitelist', { help: true }),
    ],
  },
  {
    id: 'oauth',
    help: true,
    fields: [
      bool('GitHubOAuthEnabled', { statusKey: 'github_oauth' }),
      bool('LinuxDOOAuthEnabled', { statusKey: 'linuxdo_oauth' }),
      bool('TelegramOAuthEnabled', { statusKey: 'telegram_oauth' }),
      bool('WeChatAuthEnabled', { statusKey: 'wechat_login' }),
      str('GitHubClientId'),
      secret('GitHubClientSecret'),
      str('LinuxDOClientId'),
      secret('LinuxDOClientSecret'),
      str('TelegramBotName'),
      secret('TelegramBotToken'),
      url('WeChatServerAddress'),
      secret('WeChatServerToken'),
      url('WeChatAccountQRCodeImageURL'),
    ],
  },
  {
    id: 'turnstile',
    fields: [bool('TurnstileCheckEnabled', { statusKey: 'turnstile_check' }), secret('TurnstileSiteKey'), secret('TurnstileSecretKey')],
  },
];

export default function AuthSettings({ options }: { options: OptionMap }) {
  return <SectionList sections={AUTH_SECTIONS} options={options} />;
}
