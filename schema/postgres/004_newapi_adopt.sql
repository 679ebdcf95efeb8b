-- Adopts a database in place, whoever made it: new-api (any version), or Token Factory
-- before this migration. Never drops or renames a column of new-api's, never fails on a
-- table, column or index that is already there. What it does:
--  1. user_sessions made by our 003 before it matched new-api (integer status 1/2)
--     becomes new-api's shape: status 'active'/'revoked', login_method and revoked_at
--     NOT NULL, previous_valid_until, new-api's indexes. new-api's own table (varchar
--     status) is left as it is.
--  2. every column of new-api's schema that is missing is added (ADD COLUMN IF NOT
--     EXISTS; persist/migrate.c emulates it where the dialect lacks it);
--  3. channels.openai_organization, our old misspelling of GORM's open_ai_organization,
--     is copied into the new column and kept (unused) where it exists;
--  4. indexes of ours that new-api does not have (idx_users_github_id and
--     idx_users_wechat_id, GORM names them after the Go fields: idx_users_git_hub_id,
--     idx_users_we_chat_id; idx_user_sessions_user_id) are dropped, and every index of
--     new-api's that is missing is created. Unique ones are left out: a database of ours
--     already has the same constraints under other names.
-- "WHEN ..." guards are evaluated by persist/migrate.c (see guard() there).

-- 1. In place: ALTER COLUMN ... TYPE ... USING converts the status values. The two
-- UPDATEs match no row of new-api's table (those columns are NOT NULL there).
DROP INDEX IF EXISTS "idx_user_sessions_user_id";
UPDATE "user_sessions" SET "login_method" = 'password' WHERE "login_method" IS NULL;
UPDATE "user_sessions" SET "revoked_at" = 0 WHERE "revoked_at" IS NULL;
WHEN COLUMN user_sessions.status INTEGER
ALTER TABLE "user_sessions" ALTER COLUMN "status" DROP DEFAULT,
  ALTER COLUMN "status" TYPE varchar(16)
    USING (CASE WHEN "status" = 1 THEN 'active' ELSE 'revoked' END),
  ALTER COLUMN "user_auth_version" DROP DEFAULT,
  ALTER COLUMN "refresh_hash" TYPE char(64),
  ALTER COLUMN "previous_refresh_hash" TYPE varchar(64),
  ALTER COLUMN "user_agent" TYPE text,
  ALTER COLUMN "created_at" DROP NOT NULL,
  ALTER COLUMN "login_method" SET NOT NULL,
  ALTER COLUMN "revoked_at" SET DEFAULT 0, ALTER COLUMN "revoked_at" SET NOT NULL;

-- 2. Every column of new-api's schema (tests/fixtures/newapi/postgres.sql) that a database
-- may lack: one made by an older new-api, or by Token Factory before this
-- migration (it had no channels.open_ai_organization, logs.is_retry_attempt,
-- logs.channel_name, top_ups.payment_provider, quota_data's use_group, token_id,
-- channel_id and node_name). Key and NOT NULL columns without a default exist in
-- every version and are left out.
ALTER TABLE "channels" ADD COLUMN IF NOT EXISTS "type" bigint DEFAULT 0;
ALTER TABLE "channels" ADD COLUMN IF NOT EXISTS "open_ai_organization" text;
ALTER TABLE "channels" ADD COLUMN IF NOT EXISTS "test_model" text;
ALTER TABLE "channels" ADD COLUMN IF NOT EXISTS "status" bigint DEFAULT 1;
ALTER TABLE "channels" ADD COLUMN IF NOT EXISTS "name" text;
ALTER TABLE "channels" ADD COLUMN IF NOT EXISTS "weight" bigint DEFAULT 0;
ALTER TABLE "channels" ADD COLUMN IF NOT EXISTS "created_time" bigint;
ALTER TABLE "channels" ADD COLUMN IF NOT EXISTS "test_time" bigint;
ALTER TABLE "channels" ADD COLUMN IF NOT EXISTS "response_time" bigint;
ALTER TABLE "channels" ADD COLUMN IF NOT EXISTS "base_url" text DEFAULT '';
ALTER TABLE "channels" ADD COLUMN IF NOT EXISTS "other" text;
ALTER TABLE "channels" ADD COLUMN IF NOT EXISTS "balance" decimal;
ALTER TABLE "channels" ADD COLUMN IF NOT EXISTS "balance_updated_time" bigint;
ALTER TABLE "channels" ADD COLUMN IF NOT EXISTS "models" text;
ALTER TABLE "channels" ADD COLUMN IF NOT EXISTS "group" varchar(64) DEFAULT 'default';
ALTER TABLE "channels" ADD COLUMN IF NOT EXISTS "used_quota" bigint DEFAULT 0;
ALTER TABLE "channels" ADD COLUMN IF NOT EXISTS "model_mapping" text;
ALTER TABLE "channels" ADD COLUMN IF NOT EXISTS "status_code_mapping" varchar(1024) DEFAULT '';
ALTER TABLE "channels" ADD COLUMN IF NOT EXISTS "priority" bigint DEFAULT 0;
ALTER TABLE "channels" ADD COLUMN IF NOT EXISTS "auto_ban" bigint DEFAULT 1;
ALTER TABLE "channels" ADD COLUMN IF NOT EXISTS "other_info" text;
ALTER TABLE "channels" ADD COLUMN IF NOT EXISTS "tag" text;
ALTER TABLE "channels" ADD COLUMN IF NOT EXISTS "setting" text;
ALTER TABLE "channels" ADD COLUMN IF NOT EXISTS "param_override" text;
ALTER TABLE "channels" ADD COLUMN IF NOT EXISTS "header_override" text;
ALTER TABLE "channels" ADD COLUMN IF NOT EXISTS "remark" varchar(255);
ALTER TABLE "channels" ADD COLUMN IF NOT EXISTS "channel_info" json;
ALTER TABLE "channels" ADD COLUMN IF NOT EXISTS "settings" text;
ALTER TABLE "tokens" ADD COLUMN IF NOT EXISTS "user_id" bigint;
ALTER TABLE "tokens" ADD COLUMN IF NOT EXISTS "key" varchar(128);
ALTER TABLE "tokens" ADD COLUMN IF NOT EXISTS "status" bigint DEFAULT 1;
ALTER TABLE "tokens" ADD COLUMN IF NOT EXISTS "name" text;
ALTER TABLE "tokens" ADD COLUMN IF NOT EXISTS "created_time" bigint;
ALTER TABLE "tokens" ADD COLUMN IF NOT EXISTS "accessed_time" bigint;
ALTER TABLE "tokens" ADD COLUMN IF NOT EXISTS "expired_time" bigint DEFAULT -1;
ALTER TABLE "tokens" ADD COLUMN IF NOT EXISTS "remain_quota" bigint DEFAULT 0;
ALTER TABLE "tokens" ADD COLUMN IF NOT EXISTS "unlimited_quota" boolean;
ALTER TABLE "tokens" ADD COLUMN IF NOT EXISTS "model_limits_enabled" boolean;
ALTER TABLE "tokens" ADD COLUMN IF NOT EXISTS "model_limits" text;
ALTER TABLE "tokens" ADD COLUMN IF NOT EXISTS "allow_ips" text DEFAULT '';
ALTER TABLE "tokens" ADD COLUMN IF NOT EXISTS "used_quota" bigint DEFAULT 0;
ALTER TABLE "tokens" ADD COLUMN IF NOT EXISTS "group" text DEFAULT '';
ALTER TABLE "tokens" ADD COLUMN IF NOT EXISTS "cross_group_retry" boolean;
ALTER TABLE "tokens" ADD COLUMN IF NOT EXISTS "auto_groups" text;
ALTER TABLE "tokens" ADD COLUMN IF NOT EXISTS "deleted_at" timestamptz;
ALTER TABLE "users" ADD COLUMN IF NOT EXISTS "display_name" text;
ALTER TABLE "users" ADD COLUMN IF NOT EXISTS "role" bigint DEFAULT 1;
ALTER TABLE "users" ADD COLUMN IF NOT EXISTS "status" bigint DEFAULT 1;
ALTER TABLE "users" ADD COLUMN IF NOT EXISTS "email" text;
ALTER TABLE "users" ADD COLUMN IF NOT EXISTS "github_id" text;
ALTER TABLE "users" ADD COLUMN IF NOT EXISTS "discord_id" text;
ALTER TABLE "users" ADD COLUMN IF NOT EXISTS "oidc_id" text;
ALTER TABLE "users" ADD COLUMN IF NOT EXISTS "wechat_id" text;
ALTER TABLE "users" ADD COLUMN IF NOT EXISTS "telegram_id" text;
ALTER TABLE "users" ADD COLUMN IF NOT EXISTS "access_token" char(32);
ALTER TABLE "users" ADD COLUMN IF NOT EXISTS "quota" bigint DEFAULT 0;
ALTER TABLE "users" ADD COLUMN IF NOT EXISTS "used_quota" bigint DEFAULT 0;
ALTER TABLE "users" ADD COLUMN IF NOT EXISTS "request_count" bigint DEFAULT 0;
ALTER TABLE "users" ADD COLUMN IF NOT EXISTS "group" varchar(64) DEFAULT 'default';
ALTER TABLE "users" ADD COLUMN IF NOT EXISTS "aff_code" varchar(32);
ALTER TABLE "users" ADD COLUMN IF NOT EXISTS "aff_count" bigint DEFAULT 0;
ALTER TABLE "users" ADD COLUMN IF NOT EXISTS "aff_quota" bigint DEFAULT 0;
ALTER TABLE "users" ADD COLUMN IF NOT EXISTS "aff_history" bigint DEFAULT 0;
ALTER TABLE "users" ADD COLUMN IF NOT EXISTS "inviter_id" bigint;
ALTER TABLE "users" ADD COLUMN IF NOT EXISTS "deleted_at" timestamptz;
ALTER TABLE "users" ADD COLUMN IF NOT EXISTS "linux_do_id" text;
ALTER TABLE "users" ADD COLUMN IF NOT EXISTS "setting" text;
ALTER TABLE "users" ADD COLUMN IF NOT EXISTS "remark" varchar(255);
ALTER TABLE "users" ADD COLUMN IF NOT EXISTS "stripe_customer" varchar(64);
ALTER TABLE "users" ADD COLUMN IF NOT EXISTS "created_at" bigint;
ALTER TABLE "users" ADD COLUMN IF NOT EXISTS "last_login_at" bigint DEFAULT 0;
ALTER TABLE "users" ADD COLUMN IF NOT EXISTS "auth_version" bigint NOT NULL DEFAULT 1;
ALTER TABLE "user_sessions" ADD COLUMN IF NOT EXISTS "version" bigint NOT NULL DEFAULT 1;
ALTER TABLE "user_sessions" ADD COLUMN IF NOT EXISTS "previous_refresh_hash" varchar(64);
ALTER TABLE "user_sessions" ADD COLUMN IF NOT EXISTS "previous_valid_until" bigint NOT NULL DEFAULT 0;
ALTER TABLE "user_sessions" ADD COLUMN IF NOT EXISTS "ip" varchar(64);
ALTER TABLE "user_sessions" ADD COLUMN IF NOT EXISTS "user_agent" text;
ALTER TABLE "user_sessions" ADD COLUMN IF NOT EXISTS "created_at" bigint;
ALTER TABLE "user_sessions" ADD COLUMN IF NOT EXISTS "revoked_at" bigint NOT NULL DEFAULT 0;
ALTER TABLE "user_sessions" ADD COLUMN IF NOT EXISTS "revoked_reason" varchar(64);
ALTER TABLE "options" ADD COLUMN IF NOT EXISTS "value" text;
ALTER TABLE "redemptions" ADD COLUMN IF NOT EXISTS "user_id" bigint;
ALTER TABLE "redemptions" ADD COLUMN IF NOT EXISTS "key" char(32);
ALTER TABLE "redemptions" ADD COLUMN IF NOT EXISTS "status" bigint DEFAULT 1;
ALTER TABLE "redemptions" ADD COLUMN IF NOT EXISTS "name" text;
ALTER TABLE "redemptions" ADD COLUMN IF NOT EXISTS "quota" bigint DEFAULT 100;
ALTER TABLE "redemptions" ADD COLUMN IF NOT EXISTS "created_time" bigint;
ALTER TABLE "redemptions" ADD COLUMN IF NOT EXISTS "redeemed_time" bigint;
ALTER TABLE "redemptions" ADD COLUMN IF NOT EXISTS "used_user_id" bigint;
ALTER TABLE "redemptions" ADD COLUMN IF NOT EXISTS "deleted_at" timestamptz;
ALTER TABLE "redemptions" ADD COLUMN IF NOT EXISTS "expired_time" bigint;
ALTER TABLE "abilities" ADD COLUMN IF NOT EXISTS "enabled" boolean;
ALTER TABLE "abilities" ADD COLUMN IF NOT EXISTS "priority" bigint DEFAULT 0;
ALTER TABLE "abilities" ADD COLUMN IF NOT EXISTS "weight" bigint DEFAULT 0;
ALTER TABLE "abilities" ADD COLUMN IF NOT EXISTS "tag" text;
ALTER TABLE "logs" ADD COLUMN IF NOT EXISTS "user_id" bigint;
ALTER TABLE "logs" ADD COLUMN IF NOT EXISTS "created_at" bigint;
ALTER TABLE "logs" ADD COLUMN IF NOT EXISTS "type" bigint;
ALTER TABLE "logs" ADD COLUMN IF NOT EXISTS "content" text;
ALTER TABLE "logs" ADD COLUMN IF NOT EXISTS "username" text DEFAULT '';
ALTER TABLE "logs" ADD COLUMN IF NOT EXISTS "token_name" text DEFAULT '';
ALTER TABLE "logs" ADD COLUMN IF NOT EXISTS "model_name" text DEFAULT '';
ALTER TABLE "logs" ADD COLUMN IF NOT EXISTS "quota" bigint DEFAULT 0;
ALTER TABLE "logs" ADD COLUMN IF NOT EXISTS "prompt_tokens" bigint DEFAULT 0;
ALTER TABLE "logs" ADD COLUMN IF NOT EXISTS "completion_tokens" bigint DEFAULT 0;
ALTER TABLE "logs" ADD COLUMN IF NOT EXISTS "use_time" bigint DEFAULT 0;
ALTER TABLE "logs" ADD COLUMN IF NOT EXISTS "is_stream" boolean;
ALTER TABLE "logs" ADD COLUMN IF NOT EXISTS "is_retry_attempt" boolean;
ALTER TABLE "logs" ADD COLUMN IF NOT EXISTS "channel_id" bigint;
ALTER TABLE "logs" ADD COLUMN IF NOT EXISTS "channel_name" text;
ALTER TABLE "logs" ADD COLUMN IF NOT EXISTS "token_id" bigint DEFAULT 0;
ALTER TABLE "logs" ADD COLUMN IF NOT EXISTS "group" text;
ALTER TABLE "logs" ADD COLUMN IF NOT EXISTS "ip" text DEFAULT '';
ALTER TABLE "logs" ADD COLUMN IF NOT EXISTS "request_id" varchar(64) DEFAULT '';
ALTER TABLE "logs" ADD COLUMN IF NOT EXISTS "upstream_request_id" varchar(128) DEFAULT '';
ALTER TABLE "logs" ADD COLUMN IF NOT EXISTS "other" text;
ALTER TABLE "top_ups" ADD COLUMN IF NOT EXISTS "user_id" bigint;
ALTER TABLE "top_ups" ADD COLUMN IF NOT EXISTS "amount" bigint;
ALTER TABLE "top_ups" ADD COLUMN IF NOT EXISTS "money" decimal;
ALTER TABLE "top_ups" ADD COLUMN IF NOT EXISTS "payment_method" varchar(50);
ALTER TABLE "top_ups" ADD COLUMN IF NOT EXISTS "payment_provider" varchar(50) DEFAULT '';
ALTER TABLE "top_ups" ADD COLUMN IF NOT EXISTS "create_time" bigint;
ALTER TABLE "top_ups" ADD COLUMN IF NOT EXISTS "complete_time" bigint;
ALTER TABLE "top_ups" ADD COLUMN IF NOT EXISTS "status" text;
ALTER TABLE "quota_data" ADD COLUMN IF NOT EXISTS "user_id" bigint;
ALTER TABLE "quota_data" ADD COLUMN IF NOT EXISTS "username" varchar(64) DEFAULT '';
ALTER TABLE "quota_data" ADD COLUMN IF NOT EXISTS "model_name" varchar(64) DEFAULT '';
ALTER TABLE "quota_data" ADD COLUMN IF NOT EXISTS "created_at" bigint;
ALTER TABLE "quota_data" ADD COLUMN IF NOT EXISTS "use_group" varchar(64) DEFAULT '';
ALTER TABLE "quota_data" ADD COLUMN IF NOT EXISTS "token_id" bigint DEFAULT 0;
ALTER TABLE "quota_data" ADD COLUMN IF NOT EXISTS "channel_id" bigint DEFAULT 0;
ALTER TABLE "quota_data" ADD COLUMN IF NOT EXISTS "node_name" varchar(64) DEFAULT '';
ALTER TABLE "quota_data" ADD COLUMN IF NOT EXISTS "token_used" bigint DEFAULT 0;
ALTER TABLE "quota_data" ADD COLUMN IF NOT EXISTS "count" bigint DEFAULT 0;
ALTER TABLE "quota_data" ADD COLUMN IF NOT EXISTS "quota" bigint DEFAULT 0;
ALTER TABLE "models" ADD COLUMN IF NOT EXISTS "description" text;
ALTER TABLE "models" ADD COLUMN IF NOT EXISTS "icon" varchar(128);
ALTER TABLE "models" ADD COLUMN IF NOT EXISTS "tags" varchar(255);
ALTER TABLE "models" ADD COLUMN IF NOT EXISTS "vendor_id" bigint;
ALTER TABLE "models" ADD COLUMN IF NOT EXISTS "endpoints" text;
ALTER TABLE "models" ADD COLUMN IF NOT EXISTS "status" bigint DEFAULT 1;
ALTER TABLE "models" ADD COLUMN IF NOT EXISTS "sync_official" bigint DEFAULT 1;
ALTER TABLE "models" ADD COLUMN IF NOT EXISTS "created_time" bigint;
ALTER TABLE "models" ADD COLUMN IF NOT EXISTS "updated_time" bigint;
ALTER TABLE "models" ADD COLUMN IF NOT EXISTS "deleted_at" timestamptz;
ALTER TABLE "models" ADD COLUMN IF NOT EXISTS "name_rule" bigint DEFAULT 0;
ALTER TABLE "vendors" ADD COLUMN IF NOT EXISTS "description" text;
ALTER TABLE "vendors" ADD COLUMN IF NOT EXISTS "icon" varchar(128);
ALTER TABLE "vendors" ADD COLUMN IF NOT EXISTS "status" bigint DEFAULT 1;
ALTER TABLE "vendors" ADD COLUMN IF NOT EXISTS "created_time" bigint;
ALTER TABLE "vendors" ADD COLUMN IF NOT EXISTS "updated_time" bigint;
ALTER TABLE "vendors" ADD COLUMN IF NOT EXISTS "deleted_at" timestamptz;
ALTER TABLE "checkins" ADD COLUMN IF NOT EXISTS "created_at" bigint;

-- 3.
WHEN COLUMN channels.openai_organization EXISTS
UPDATE "channels" SET "open_ai_organization" = "openai_organization"
WHERE "open_ai_organization" IS NULL;

-- 4.
DROP INDEX IF EXISTS "idx_users_github_id";
DROP INDEX IF EXISTS "idx_users_wechat_id";
CREATE INDEX IF NOT EXISTS "idx_channels_name" ON "channels" ("name");
CREATE INDEX IF NOT EXISTS "idx_channels_tag" ON "channels" ("tag");
CREATE INDEX IF NOT EXISTS "idx_tokens_user_id" ON "tokens" ("user_id");
CREATE INDEX IF NOT EXISTS "idx_tokens_name" ON "tokens" ("name");
CREATE INDEX IF NOT EXISTS "idx_tokens_deleted_at" ON "tokens" ("deleted_at");
CREATE INDEX IF NOT EXISTS "idx_users_username" ON "users" ("username");
CREATE INDEX IF NOT EXISTS "idx_users_display_name" ON "users" ("display_name");
CREATE INDEX IF NOT EXISTS "idx_users_email" ON "users" ("email");
CREATE INDEX IF NOT EXISTS "idx_users_git_hub_id" ON "users" ("github_id");
CREATE INDEX IF NOT EXISTS "idx_users_discord_id" ON "users" ("discord_id");
CREATE INDEX IF NOT EXISTS "idx_users_oidc_id" ON "users" ("oidc_id");
CREATE INDEX IF NOT EXISTS "idx_users_we_chat_id" ON "users" ("wechat_id");
CREATE INDEX IF NOT EXISTS "idx_users_telegram_id" ON "users" ("telegram_id");
CREATE INDEX IF NOT EXISTS "idx_users_inviter_id" ON "users" ("inviter_id");
CREATE INDEX IF NOT EXISTS "idx_users_deleted_at" ON "users" ("deleted_at");
CREATE INDEX IF NOT EXISTS "idx_users_linux_do_id" ON "users" ("linux_do_id");
CREATE INDEX IF NOT EXISTS "idx_users_stripe_customer" ON "users" ("stripe_customer");
CREATE INDEX IF NOT EXISTS "idx_user_sessions_user_status_expiry" ON "user_sessions" ("user_id","status","expires_at");
CREATE INDEX IF NOT EXISTS "idx_user_sessions_user_created" ON "user_sessions" ("user_id","created_at");
CREATE INDEX IF NOT EXISTS "idx_user_sessions_status_revoked" ON "user_sessions" ("status","revoked_at");
CREATE INDEX IF NOT EXISTS "idx_user_sessions_expires_at" ON "user_sessions" ("expires_at");
CREATE INDEX IF NOT EXISTS "idx_redemptions_name" ON "redemptions" ("name");
CREATE INDEX IF NOT EXISTS "idx_redemptions_deleted_at" ON "redemptions" ("deleted_at");
CREATE INDEX IF NOT EXISTS "idx_abilities_channel_id" ON "abilities" ("channel_id");
CREATE INDEX IF NOT EXISTS "idx_abilities_priority" ON "abilities" ("priority");
CREATE INDEX IF NOT EXISTS "idx_abilities_weight" ON "abilities" ("weight");
CREATE INDEX IF NOT EXISTS "idx_abilities_tag" ON "abilities" ("tag");
CREATE INDEX IF NOT EXISTS "idx_created_at_id" ON "logs" ("created_at","id");
CREATE INDEX IF NOT EXISTS "idx_user_id_id" ON "logs" ("user_id","id");
CREATE INDEX IF NOT EXISTS "idx_logs_user_id" ON "logs" ("user_id");
CREATE INDEX IF NOT EXISTS "idx_created_at_type" ON "logs" ("created_at","type");
CREATE INDEX IF NOT EXISTS "idx_logs_username" ON "logs" ("username");
CREATE INDEX IF NOT EXISTS "index_username_model_name" ON "logs" ("model_name","username");
CREATE INDEX IF NOT EXISTS "idx_logs_token_name" ON "logs" ("token_name");
CREATE INDEX IF NOT EXISTS "idx_logs_model_name" ON "logs" ("model_name");
CREATE INDEX IF NOT EXISTS "idx_logs_channel_id" ON "logs" ("channel_id");
CREATE INDEX IF NOT EXISTS "idx_logs_token_id" ON "logs" ("token_id");
CREATE INDEX IF NOT EXISTS "idx_logs_group" ON "logs" ("group");
CREATE INDEX IF NOT EXISTS "idx_logs_ip" ON "logs" ("ip");
CREATE INDEX IF NOT EXISTS "idx_logs_request_id" ON "logs" ("request_id");
CREATE INDEX IF NOT EXISTS "idx_logs_upstream_request_id" ON "logs" ("upstream_request_id");
CREATE INDEX IF NOT EXISTS "idx_top_ups_user_id" ON "top_ups" ("user_id");
CREATE INDEX IF NOT EXISTS "idx_top_ups_trade_no" ON "top_ups" ("trade_no");
CREATE INDEX IF NOT EXISTS "idx_quota_data_user_id" ON "quota_data" ("user_id");
CREATE INDEX IF NOT EXISTS "idx_qdt_model_user_name" ON "quota_data" ("model_name","username");
CREATE INDEX IF NOT EXISTS "idx_qdt_created_at" ON "quota_data" ("created_at");
CREATE INDEX IF NOT EXISTS "idx_quota_data_use_group" ON "quota_data" ("use_group");
CREATE INDEX IF NOT EXISTS "idx_quota_data_token_id" ON "quota_data" ("token_id");
CREATE INDEX IF NOT EXISTS "idx_quota_data_channel_id" ON "quota_data" ("channel_id");
CREATE INDEX IF NOT EXISTS "idx_quota_data_node_name" ON "quota_data" ("node_name");
CREATE INDEX IF NOT EXISTS "idx_models_vendor_id" ON "models" ("vendor_id");
CREATE INDEX IF NOT EXISTS "idx_models_deleted_at" ON "models" ("deleted_at");
CREATE INDEX IF NOT EXISTS "idx_vendors_deleted_at" ON "vendors" ("deleted_at");
