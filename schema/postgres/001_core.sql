-- Core tables, column for column as the reference (new-api, GORM AutoMigrate), so a
-- reference database opens as is. Types follow GORM's PostgreSQL mapping (bigserial ids,
-- boolean, timestamptz deleted_at); quota and money columns are BIGINT. Index names
-- follow GORM's idx_<table>_<column>; PostgreSQL index names are per schema, so each is
-- unique across tables.

CREATE TABLE IF NOT EXISTS "users" (
  "id" BIGSERIAL PRIMARY KEY,
  "username" VARCHAR(191) DEFAULT NULL,
  "password" TEXT NOT NULL,
  "display_name" VARCHAR(191) DEFAULT NULL,
  "role" BIGINT DEFAULT 1,
  "status" BIGINT DEFAULT 1,
  "email" VARCHAR(191) DEFAULT NULL,
  "github_id" VARCHAR(191) DEFAULT NULL,
  "discord_id" VARCHAR(191) DEFAULT NULL,
  "oidc_id" VARCHAR(191) DEFAULT NULL,
  "wechat_id" VARCHAR(191) DEFAULT NULL,
  "telegram_id" VARCHAR(191) DEFAULT NULL,
  "linux_do_id" VARCHAR(191) DEFAULT NULL,
  "access_token" CHAR(32) DEFAULT NULL,
  "quota" BIGINT DEFAULT 0,
  "used_quota" BIGINT DEFAULT 0,
  "request_count" BIGINT DEFAULT 0,
  "group" VARCHAR(64) DEFAULT 'default',
  "aff_code" VARCHAR(32) DEFAULT NULL,
  "aff_count" BIGINT DEFAULT 0,
  "aff_quota" BIGINT DEFAULT 0,
  "aff_history" BIGINT DEFAULT 0,
  "inviter_id" BIGINT DEFAULT NULL,
  "deleted_at" TIMESTAMPTZ DEFAULT NULL,
  "setting" TEXT,
  "remark" VARCHAR(255) DEFAULT NULL,
  "stripe_customer" VARCHAR(64) DEFAULT NULL,
  "created_at" BIGINT DEFAULT NULL,
  "last_login_at" BIGINT DEFAULT NULL,
  "auth_version" BIGINT DEFAULT 1,
  CONSTRAINT "uni_users_username" UNIQUE ("username"),
  CONSTRAINT "uni_users_access_token" UNIQUE ("access_token"),
  CONSTRAINT "uni_users_aff_code" UNIQUE ("aff_code")
);
CREATE INDEX IF NOT EXISTS "idx_users_display_name" ON "users" ("display_name");
CREATE INDEX IF NOT EXISTS "idx_users_email" ON "users" ("email");
CREATE INDEX IF NOT EXISTS "idx_users_github_id" ON "users" ("github_id");
CREATE INDEX IF NOT EXISTS "idx_users_discord_id" ON "users" ("discord_id");
CREATE INDEX IF NOT EXISTS "idx_users_oidc_id" ON "users" ("oidc_id");
CREATE INDEX IF NOT EXISTS "idx_users_wechat_id" ON "users" ("wechat_id");
CREATE INDEX IF NOT EXISTS "idx_users_telegram_id" ON "users" ("telegram_id");
CREATE INDEX IF NOT EXISTS "idx_users_linux_do_id" ON "users" ("linux_do_id");
CREATE INDEX IF NOT EXISTS "idx_users_inviter_id" ON "users" ("inviter_id");
CREATE INDEX IF NOT EXISTS "idx_users_deleted_at" ON "users" ("deleted_at");
CREATE INDEX IF NOT EXISTS "idx_users_stripe_customer" ON "users" ("stripe_customer");

CREATE TABLE IF NOT EXISTS "tokens" (
  "id" BIGSERIAL PRIMARY KEY,
  "user_id" BIGINT DEFAULT NULL,
  "key" VARCHAR(128) DEFAULT NULL,
  "status" BIGINT DEFAULT 1,
  "name" VARCHAR(191) DEFAULT NULL,
  "created_time" BIGINT DEFAULT NULL,
  "accessed_time" BIGINT DEFAULT NULL,
  "expired_time" BIGINT DEFAULT -1,
  "remain_quota" BIGINT DEFAULT 0,
  "unlimited_quota" BOOLEAN DEFAULT FALSE,
  "used_quota" BIGINT DEFAULT 0,
  "model_limits_enabled" BOOLEAN DEFAULT FALSE,
  "model_limits" TEXT,
  "allow_ips" TEXT,
  "group" VARCHAR(191) DEFAULT '',
  "cross_group_retry" BOOLEAN DEFAULT FALSE,
  "auto_groups" TEXT,
  "deleted_at" TIMESTAMPTZ DEFAULT NULL,
  CONSTRAINT "uni_tokens_key" UNIQUE ("key")
);
CREATE INDEX IF NOT EXISTS "idx_tokens_user_id" ON "tokens" ("user_id");
CREATE INDEX IF NOT EXISTS "idx_tokens_name" ON "tokens" ("name");
CREATE INDEX IF NOT EXISTS "idx_tokens_deleted_at" ON "tokens" ("deleted_at");

CREATE TABLE IF NOT EXISTS "channels" (
  "id" BIGSERIAL PRIMARY KEY,
  "type" BIGINT DEFAULT 0,
  "key" TEXT NOT NULL,
  "openai_organization" TEXT,
  "test_model" TEXT,
  "status" BIGINT DEFAULT 1,
  "name" VARCHAR(191) DEFAULT NULL,
  "weight" BIGINT DEFAULT 0,
  "created_time" BIGINT DEFAULT NULL,
  "test_time" BIGINT DEFAULT NULL,
  "response_time" BIGINT DEFAULT NULL,
  "base_url" VARCHAR(191) DEFAULT '',
  "other" TEXT,
  "balance" DOUBLE PRECISION DEFAULT NULL,
  "balance_updated_time" BIGINT DEFAULT NULL,
  "models" TEXT,
  "group" VARCHAR(64) DEFAULT 'default',
  "used_quota" BIGINT DEFAULT 0,
  "model_mapping" TEXT,
  "status_code_mapping" VARCHAR(1024) DEFAULT '',
  "priority" BIGINT DEFAULT 0,
  "auto_ban" BIGINT DEFAULT 1,
  "other_info" TEXT,
  "tag" VARCHAR(191) DEFAULT NULL,
  "setting" TEXT,
  "param_override" TEXT,
  "header_override" TEXT,
  "remark" VARCHAR(255) DEFAULT NULL,
  "channel_info" JSON DEFAULT NULL,
  "settings" TEXT
);
CREATE INDEX IF NOT EXISTS "idx_channels_name" ON "channels" ("name");
CREATE INDEX IF NOT EXISTS "idx_channels_tag" ON "channels" ("tag");

CREATE TABLE IF NOT EXISTS "abilities" (
  "group" VARCHAR(64) NOT NULL,
  "model" VARCHAR(255) NOT NULL,
  "channel_id" BIGINT NOT NULL,
  "enabled" BOOLEAN DEFAULT NULL,
  "priority" BIGINT DEFAULT 0,
  "weight" BIGINT DEFAULT 0,
  "tag" VARCHAR(191) DEFAULT NULL,
  PRIMARY KEY ("group", "model", "channel_id")
);
CREATE INDEX IF NOT EXISTS "idx_abilities_channel_id" ON "abilities" ("channel_id");
CREATE INDEX IF NOT EXISTS "idx_abilities_priority" ON "abilities" ("priority");
CREATE INDEX IF NOT EXISTS "idx_abilities_weight" ON "abilities" ("weight");
CREATE INDEX IF NOT EXISTS "idx_abilities_tag" ON "abilities" ("tag");

CREATE TABLE IF NOT EXISTS "logs" (
  "id" BIGSERIAL PRIMARY KEY,
  "user_id" BIGINT DEFAULT NULL,
  "created_at" BIGINT DEFAULT NULL,
  "type" BIGINT DEFAULT NULL,
  "content" TEXT,
  "username" VARCHAR(191) DEFAULT '',
  "token_name" VARCHAR(191) DEFAULT '',
  "model_name" VARCHAR(191) DEFAULT '',
  "quota" BIGINT DEFAULT 0,
  "prompt_tokens" BIGINT DEFAULT 0,
  "completion_tokens" BIGINT DEFAULT 0,
  "use_time" BIGINT DEFAULT 0,
  "is_stream" BOOLEAN DEFAULT NULL,
  "channel_id" BIGINT DEFAULT NULL,
  "token_id" BIGINT DEFAULT 0,
  "group" VARCHAR(191) DEFAULT NULL,
  "ip" VARCHAR(191) DEFAULT '',
  "request_id" VARCHAR(64) DEFAULT NULL,
  "upstream_request_id" VARCHAR(128) DEFAULT NULL,
  "other" TEXT
);
CREATE INDEX IF NOT EXISTS "idx_created_at_id" ON "logs" ("created_at", "id");
CREATE INDEX IF NOT EXISTS "idx_user_id_id" ON "logs" ("user_id", "id");
CREATE INDEX IF NOT EXISTS "idx_created_at_type" ON "logs" ("created_at", "type");
CREATE INDEX IF NOT EXISTS "index_username_model_name" ON "logs" ("model_name", "username");
CREATE INDEX IF NOT EXISTS "idx_logs_user_id" ON "logs" ("user_id");
CREATE INDEX IF NOT EXISTS "idx_logs_token_name" ON "logs" ("token_name");
CREATE INDEX IF NOT EXISTS "idx_logs_model_name" ON "logs" ("model_name");
CREATE INDEX IF NOT EXISTS "idx_logs_channel_id" ON "logs" ("channel_id");
CREATE INDEX IF NOT EXISTS "idx_logs_token_id" ON "logs" ("token_id");
CREATE INDEX IF NOT EXISTS "idx_logs_group" ON "logs" ("group");
CREATE INDEX IF NOT EXISTS "idx_logs_ip" ON "logs" ("ip");
CREATE INDEX IF NOT EXISTS "idx_logs_request_id" ON "logs" ("request_id");

CREATE TABLE IF NOT EXISTS "options" (
  "key" VARCHAR(191) NOT NULL,
  "value" TEXT,
  PRIMARY KEY ("key")
);

CREATE TABLE IF NOT EXISTS "redemptions" (
  "id" BIGSERIAL PRIMARY KEY,
  "user_id" BIGINT DEFAULT NULL,
  "key" CHAR(32) DEFAULT NULL,
  "status" BIGINT DEFAULT 1,
  "name" VARCHAR(191) DEFAULT NULL,
  "quota" BIGINT DEFAULT 100,
  "created_time" BIGINT DEFAULT NULL,
  "redeemed_time" BIGINT DEFAULT NULL,
  "used_user_id" BIGINT DEFAULT NULL,
  "deleted_at" TIMESTAMPTZ DEFAULT NULL,
  "expired_time" BIGINT DEFAULT NULL,
  CONSTRAINT "uni_redemptions_key" UNIQUE ("key")
);
CREATE INDEX IF NOT EXISTS "idx_redemptions_name" ON "redemptions" ("name");
CREATE INDEX IF NOT EXISTS "idx_redemptions_deleted_at" ON "redemptions" ("deleted_at");

CREATE TABLE IF NOT EXISTS "setups" (
  "id" BIGSERIAL PRIMARY KEY,
  "version" VARCHAR(50) NOT NULL,
  "initialized_at" BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS "top_ups" (
  "id" BIGSERIAL PRIMARY KEY,
  "user_id" BIGINT DEFAULT NULL,
  "amount" BIGINT DEFAULT NULL,
  "money" DOUBLE PRECISION DEFAULT NULL,
  "trade_no" VARCHAR(255) DEFAULT NULL,
  "payment_method" VARCHAR(50) DEFAULT NULL,
  "create_time" BIGINT DEFAULT NULL,
  "complete_time" BIGINT DEFAULT NULL,
  "status" VARCHAR(191) DEFAULT NULL,
  CONSTRAINT "uni_top_ups_trade_no" UNIQUE ("trade_no")
);
CREATE INDEX IF NOT EXISTS "idx_top_ups_user_id" ON "top_ups" ("user_id");

CREATE TABLE IF NOT EXISTS "quota_data" (
  "id" BIGSERIAL PRIMARY KEY,
  "user_id" BIGINT DEFAULT NULL,
  "username" VARCHAR(64) DEFAULT '',
  "model_name" VARCHAR(64) DEFAULT '',
  "created_at" BIGINT DEFAULT NULL,
  "token_used" BIGINT DEFAULT 0,
  "count" BIGINT DEFAULT 0,
  "quota" BIGINT DEFAULT 0
);
CREATE INDEX IF NOT EXISTS "idx_quota_data_user_id" ON "quota_data" ("user_id");
CREATE INDEX IF NOT EXISTS "idx_qdt_model_user_name" ON "quota_data" ("model_name", "username");
CREATE INDEX IF NOT EXISTS "idx_qdt_created_at" ON "quota_data" ("created_at");

CREATE TABLE IF NOT EXISTS "models" (
  "id" BIGSERIAL PRIMARY KEY,
  "model_name" VARCHAR(128) NOT NULL,
  "description" TEXT,
  "icon" VARCHAR(128) DEFAULT NULL,
  "tags" VARCHAR(255) DEFAULT NULL,
  "vendor_id" BIGINT DEFAULT NULL,
  "endpoints" TEXT,
  "status" BIGINT DEFAULT 1,
  "sync_official" BIGINT DEFAULT 1,
  "created_time" BIGINT DEFAULT NULL,
  "updated_time" BIGINT DEFAULT NULL,
  "deleted_at" TIMESTAMPTZ DEFAULT NULL,
  "name_rule" BIGINT DEFAULT 0,
  CONSTRAINT "uk_model_name_delete_at" UNIQUE ("model_name", "deleted_at")
);
CREATE INDEX IF NOT EXISTS "idx_models_vendor_id" ON "models" ("vendor_id");
CREATE INDEX IF NOT EXISTS "idx_models_deleted_at" ON "models" ("deleted_at");

CREATE TABLE IF NOT EXISTS "vendors" (
  "id" BIGSERIAL PRIMARY KEY,
  "name" VARCHAR(128) NOT NULL,
  "description" TEXT,
  "icon" VARCHAR(128) DEFAULT NULL,
  "status" BIGINT DEFAULT 1,
  "created_time" BIGINT DEFAULT NULL,
  "updated_time" BIGINT DEFAULT NULL,
  "deleted_at" TIMESTAMPTZ DEFAULT NULL,
  CONSTRAINT "uk_vendor_name_delete_at" UNIQUE ("name", "deleted_at")
);
CREATE INDEX IF NOT EXISTS "idx_vendors_deleted_at" ON "vendors" ("deleted_at");

CREATE TABLE IF NOT EXISTS "checkins" (
  "id" BIGSERIAL PRIMARY KEY,
  "user_id" BIGINT NOT NULL,
  "checkin_date" VARCHAR(10) NOT NULL,
  "quota_awarded" BIGINT NOT NULL,
  "created_at" BIGINT DEFAULT NULL,
  CONSTRAINT "idx_user_checkin_date" UNIQUE ("user_id", "checkin_date")
);

-- Token Factory's own: the last Redis stream entry the ledger persister applied per
-- stream, advanced in the same transaction as the entries it applies.
CREATE TABLE IF NOT EXISTS "ledger_cursors" (
  "stream" VARCHAR(191) NOT NULL,
  "last_id" VARCHAR(64) NOT NULL,
  "updated_at" BIGINT DEFAULT NULL,
  PRIMARY KEY ("stream")
);
