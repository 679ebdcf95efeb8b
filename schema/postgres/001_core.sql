-- Core tables exactly as new-api's GORM AutoMigrate creates them in PostgreSQL
-- (reference commit 4eec0ce, gorm v1.25.2, gorm.io/driver/postgres v1.5.2): the same
-- columns, types, defaults, NOT NULLs and index names, so that a database of either
-- opens in the other. tests/fixtures/newapi/postgres.sql is the same schema written as
-- GORM emits it, and tests/integration/test_newapi_db.py compares the two. `unique`
-- columns get PostgreSQL's own constraint names (users_username_key), as under GORM.
-- Index names are per schema, so each is unique across tables. A table or index that
-- already exists is kept as it is; 004 adds what an older one lacks.
-- The unique indexes are here; the others are created by 004, after it has added
-- any column that an older database lacks.

CREATE TABLE IF NOT EXISTS "channels" (
  "id" bigserial,
  "type" bigint DEFAULT 0,
  "key" text NOT NULL,
  "open_ai_organization" text,
  "test_model" text,
  "status" bigint DEFAULT 1,
  "name" text,
  "weight" bigint DEFAULT 0,
  "created_time" bigint,
  "test_time" bigint,
  "response_time" bigint,
  "base_url" text DEFAULT '',
  "other" text,
  "balance" decimal,
  "balance_updated_time" bigint,
  "models" text,
  "group" varchar(64) DEFAULT 'default',
  "used_quota" bigint DEFAULT 0,
  "model_mapping" text,
  "status_code_mapping" varchar(1024) DEFAULT '',
  "priority" bigint DEFAULT 0,
  "auto_ban" bigint DEFAULT 1,
  "other_info" text,
  "tag" text,
  "setting" text,
  "param_override" text,
  "header_override" text,
  "remark" varchar(255),
  "channel_info" json,
  "settings" text,
  PRIMARY KEY ("id")
);

CREATE TABLE IF NOT EXISTS "tokens" (
  "id" bigserial,
  "user_id" bigint,
  "key" varchar(128),
  "status" bigint DEFAULT 1,
  "name" text,
  "created_time" bigint,
  "accessed_time" bigint,
  "expired_time" bigint DEFAULT -1,
  "remain_quota" bigint DEFAULT 0,
  "unlimited_quota" boolean,
  "model_limits_enabled" boolean,
  "model_limits" text,
  "allow_ips" text DEFAULT '',
  "used_quota" bigint DEFAULT 0,
  "group" text DEFAULT '',
  "cross_group_retry" boolean,
  "auto_groups" text,
  "deleted_at" timestamptz,
  PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX IF NOT EXISTS "idx_tokens_key" ON "tokens" ("key");

CREATE TABLE IF NOT EXISTS "users" (
  "id" bigserial,
  "username" text UNIQUE,
  "password" text NOT NULL,
  "display_name" text,
  "role" bigint DEFAULT 1,
  "status" bigint DEFAULT 1,
  "email" text,
  "github_id" text,
  "discord_id" text,
  "oidc_id" text,
  "wechat_id" text,
  "telegram_id" text,
  "access_token" char(32),
  "quota" bigint DEFAULT 0,
  "used_quota" bigint DEFAULT 0,
  "request_count" bigint DEFAULT 0,
  "group" varchar(64) DEFAULT 'default',
  "aff_code" varchar(32),
  "aff_count" bigint DEFAULT 0,
  "aff_quota" bigint DEFAULT 0,
  "aff_history" bigint DEFAULT 0,
  "inviter_id" bigint,
  "deleted_at" timestamptz,
  "linux_do_id" text,
  "setting" text,
  "remark" varchar(255),
  "stripe_customer" varchar(64),
  "created_at" bigint,
  "last_login_at" bigint DEFAULT 0,
  "auth_version" bigint NOT NULL DEFAULT 1,
  PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX IF NOT EXISTS "idx_users_access_token" ON "users" ("access_token");
CREATE UNIQUE INDEX IF NOT EXISTS "idx_users_aff_code" ON "users" ("aff_code");

CREATE TABLE IF NOT EXISTS "options" (
  "key" text,
  "value" text,
  PRIMARY KEY ("key")
);

CREATE TABLE IF NOT EXISTS "redemptions" (
  "id" bigserial,
  "user_id" bigint,
  "key" char(32),
  "status" bigint DEFAULT 1,
  "name" text,
  "quota" bigint DEFAULT 100,
  "created_time" bigint,
  "redeemed_time" bigint,
  "used_user_id" bigint,
  "deleted_at" timestamptz,
  "expired_time" bigint,
  PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX IF NOT EXISTS "idx_redemptions_key" ON "redemptions" ("key");

CREATE TABLE IF NOT EXISTS "abilities" (
  "group" varchar(64),
  "model" varchar(255),
  "channel_id" bigint,
  "enabled" boolean,
  "priority" bigint DEFAULT 0,
  "weight" bigint DEFAULT 0,
  "tag" text,
  PRIMARY KEY ("group","model","channel_id")
);

CREATE TABLE IF NOT EXISTS "logs" (
  "id" bigserial,
  "user_id" bigint,
  "created_at" bigint,
  "type" bigint,
  "content" text,
  "username" text DEFAULT '',
  "token_name" text DEFAULT '',
  "model_name" text DEFAULT '',
  "quota" bigint DEFAULT 0,
  "prompt_tokens" bigint DEFAULT 0,
  "completion_tokens" bigint DEFAULT 0,
  "use_time" bigint DEFAULT 0,
  "is_stream" boolean,
  "is_retry_attempt" boolean,
  "channel_id" bigint,
  "channel_name" text,
  "token_id" bigint DEFAULT 0,
  "group" text,
  "ip" text DEFAULT '',
  "request_id" varchar(64) DEFAULT '',
  "upstream_request_id" varchar(128) DEFAULT '',
  "other" text,
  PRIMARY KEY ("id")
);

CREATE TABLE IF NOT EXISTS "top_ups" (
  "id" bigserial,
  "user_id" bigint,
  "amount" bigint,
  "money" decimal,
  "trade_no" varchar(255) UNIQUE,
  "payment_method" varchar(50),
  "payment_provider" varchar(50) DEFAULT '',
  "create_time" bigint,
  "complete_time" bigint,
  "status" text,
  PRIMARY KEY ("id")
);

CREATE TABLE IF NOT EXISTS "quota_data" (
  "id" bigserial,
  "user_id" bigint,
  "username" varchar(64) DEFAULT '',
  "model_name" varchar(64) DEFAULT '',
  "created_at" bigint,
  "use_group" varchar(64) DEFAULT '',
  "token_id" bigint DEFAULT 0,
  "channel_id" bigint DEFAULT 0,
  "node_name" varchar(64) DEFAULT '',
  "token_used" bigint DEFAULT 0,
  "count" bigint DEFAULT 0,
  "quota" bigint DEFAULT 0,
  PRIMARY KEY ("id")
);

CREATE TABLE IF NOT EXISTS "models" (
  "id" bigserial,
  "model_name" varchar(128) NOT NULL,
  "description" text,
  "icon" varchar(128),
  "tags" varchar(255),
  "vendor_id" bigint,
  "endpoints" text,
  "status" bigint DEFAULT 1,
  "sync_official" bigint DEFAULT 1,
  "created_time" bigint,
  "updated_time" bigint,
  "deleted_at" timestamptz,
  "name_rule" bigint DEFAULT 0,
  PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX IF NOT EXISTS "uk_model_name_delete_at" ON "models" ("model_name","deleted_at");

CREATE TABLE IF NOT EXISTS "vendors" (
  "id" bigserial,
  "name" varchar(128) NOT NULL,
  "description" text,
  "icon" varchar(128),
  "status" bigint DEFAULT 1,
  "created_time" bigint,
  "updated_time" bigint,
  "deleted_at" timestamptz,
  PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX IF NOT EXISTS "uk_vendor_name_delete_at" ON "vendors" ("name","deleted_at");

CREATE TABLE IF NOT EXISTS "setups" (
  "id" bigserial,
  "version" varchar(50) NOT NULL,
  "initialized_at" bigint NOT NULL,
  PRIMARY KEY ("id")
);

CREATE TABLE IF NOT EXISTS "checkins" (
  "id" bigserial,
  "user_id" bigint NOT NULL,
  "checkin_date" varchar(10) NOT NULL,
  "quota_awarded" bigint NOT NULL,
  "created_at" bigint,
  PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX IF NOT EXISTS "idx_user_checkin_date" ON "checkins" ("user_id","checkin_date");

-- Token Factory's own: the last Redis stream entry the ledger persister applied per
-- stream, advanced in the same transaction as the entries it applies.
CREATE TABLE IF NOT EXISTS "ledger_cursors" (
  "stream" VARCHAR(191) NOT NULL,
  "last_id" VARCHAR(64) NOT NULL,
  "updated_at" BIGINT DEFAULT NULL,
  PRIMARY KEY ("stream")
);
