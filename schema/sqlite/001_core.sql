-- Core tables exactly as new-api's GORM AutoMigrate creates them in SQLite (reference
-- commit 4eec0ce, gorm v1.25.2, glebarez/sqlite v1.9.0): the same columns, types,
-- defaults, NOT NULLs and index names, so that a database of either opens in the other.
-- tests/fixtures/newapi/sqlite.sql is the same schema written as GORM emits it, and
-- tests/integration/test_newapi_db.py compares the two. SQLite integers are 64-bit, so
-- quota columns cannot overflow.
-- One difference that no column or index shows: ids are INTEGER PRIMARY KEY
-- AUTOINCREMENT, so SQLite never hands out the id of a deleted row again (GORM's plain
-- integer key does once the highest row is deleted, and a new row must not inherit a
-- deleted one's Redis state, tokens or logs).
-- A table or index that already exists (a new-api database, or one of ours) is kept as
-- it is; 004 adds what an older one lacks. The unique indexes are here; the others are
-- created by 004, after it has added any column that an older database lacks.

CREATE TABLE IF NOT EXISTS `channels` (
  `id` integer PRIMARY KEY AUTOINCREMENT,
  `type` integer DEFAULT 0,
  `key` text NOT NULL,
  `open_ai_organization` text,
  `test_model` text,
  `status` integer DEFAULT 1,
  `name` text,
  `weight` integer DEFAULT 0,
  `created_time` integer,
  `test_time` integer,
  `response_time` integer,
  `base_url` text DEFAULT '',
  `other` text,
  `balance` real,
  `balance_updated_time` integer,
  `models` text,
  `group` varchar(64) DEFAULT 'default',
  `used_quota` integer DEFAULT 0,
  `model_mapping` text,
  `status_code_mapping` varchar(1024) DEFAULT '',
  `priority` integer DEFAULT 0,
  `auto_ban` integer DEFAULT 1,
  `other_info` text,
  `tag` text,
  `setting` text,
  `param_override` text,
  `header_override` text,
  `remark` varchar(255),
  `channel_info` json,
  `settings` text
);

CREATE TABLE IF NOT EXISTS `tokens` (
  `id` integer PRIMARY KEY AUTOINCREMENT,
  `user_id` integer,
  `key` varchar(128),
  `status` integer DEFAULT 1,
  `name` text,
  `created_time` integer,
  `accessed_time` integer,
  `expired_time` integer DEFAULT -1,
  `remain_quota` integer DEFAULT 0,
  `unlimited_quota` numeric,
  `model_limits_enabled` numeric,
  `model_limits` text,
  `allow_ips` text DEFAULT '',
  `used_quota` integer DEFAULT 0,
  `group` text DEFAULT '',
  `cross_group_retry` numeric,
  `auto_groups` text,
  `deleted_at` datetime
);
CREATE UNIQUE INDEX IF NOT EXISTS `idx_tokens_key` ON `tokens`(`key`);

CREATE TABLE IF NOT EXISTS `users` (
  `id` integer PRIMARY KEY AUTOINCREMENT,
  `username` text UNIQUE,
  `password` text NOT NULL,
  `display_name` text,
  `role` integer DEFAULT 1,
  `status` integer DEFAULT 1,
  `email` text,
  `github_id` text,
  `discord_id` text,
  `oidc_id` text,
  `wechat_id` text,
  `telegram_id` text,
  `access_token` char(32),
  `quota` integer DEFAULT 0,
  `used_quota` integer DEFAULT 0,
  `request_count` integer DEFAULT 0,
  `group` varchar(64) DEFAULT 'default',
  `aff_code` varchar(32),
  `aff_count` integer DEFAULT 0,
  `aff_quota` integer DEFAULT 0,
  `aff_history` integer DEFAULT 0,
  `inviter_id` integer,
  `deleted_at` datetime,
  `linux_do_id` text,
  `setting` text,
  `remark` varchar(255),
  `stripe_customer` varchar(64),
  `created_at` integer,
  `last_login_at` integer DEFAULT 0,
  `auth_version` bigint NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX IF NOT EXISTS `idx_users_access_token` ON `users`(`access_token`);
CREATE UNIQUE INDEX IF NOT EXISTS `idx_users_aff_code` ON `users`(`aff_code`);

CREATE TABLE IF NOT EXISTS `options` (
  `key` text,
  `value` text,
  PRIMARY KEY (`key`)
);

CREATE TABLE IF NOT EXISTS `redemptions` (
  `id` integer PRIMARY KEY AUTOINCREMENT,
  `user_id` integer,
  `key` char(32),
  `status` integer DEFAULT 1,
  `name` text,
  `quota` integer DEFAULT 100,
  `created_time` integer,
  `redeemed_time` integer,
  `used_user_id` integer,
  `deleted_at` datetime,
  `expired_time` integer
);
CREATE UNIQUE INDEX IF NOT EXISTS `idx_redemptions_key` ON `redemptions`(`key`);

CREATE TABLE IF NOT EXISTS `abilities` (
  `group` varchar(64),
  `model` varchar(255),
  `channel_id` integer,
  `enabled` numeric,
  `priority` integer DEFAULT 0,
  `weight` integer DEFAULT 0,
  `tag` text,
  PRIMARY KEY (`group`,`model`,`channel_id`)
);

CREATE TABLE IF NOT EXISTS `logs` (
  `id` integer PRIMARY KEY AUTOINCREMENT,
  `user_id` integer,
  `created_at` integer,
  `type` integer,
  `content` text,
  `username` text DEFAULT '',
  `token_name` text DEFAULT '',
  `model_name` text DEFAULT '',
  `quota` integer DEFAULT 0,
  `prompt_tokens` integer DEFAULT 0,
  `completion_tokens` integer DEFAULT 0,
  `use_time` integer DEFAULT 0,
  `is_stream` numeric,
  `is_retry_attempt` numeric,
  `channel_id` integer,
  `channel_name` text,
  `token_id` integer DEFAULT 0,
  `group` text,
  `ip` text DEFAULT '',
  `request_id` varchar(64) DEFAULT '',
  `upstream_request_id` varchar(128) DEFAULT '',
  `other` text
);

CREATE TABLE IF NOT EXISTS `top_ups` (
  `id` integer PRIMARY KEY AUTOINCREMENT,
  `user_id` integer,
  `amount` integer,
  `money` real,
  `trade_no` varchar(255) UNIQUE,
  `payment_method` varchar(50),
  `payment_provider` varchar(50) DEFAULT '',
  `create_time` integer,
  `complete_time` integer,
  `status` text
);

CREATE TABLE IF NOT EXISTS `quota_data` (
  `id` integer PRIMARY KEY AUTOINCREMENT,
  `user_id` integer,
  `username` text DEFAULT '',
  `model_name` text DEFAULT '',
  `created_at` integer,
  `use_group` text DEFAULT '',
  `token_id` integer DEFAULT 0,
  `channel_id` integer DEFAULT 0,
  `node_name` text DEFAULT '',
  `token_used` integer DEFAULT 0,
  `count` integer DEFAULT 0,
  `quota` integer DEFAULT 0
);

CREATE TABLE IF NOT EXISTS `models` (
  `id` integer PRIMARY KEY AUTOINCREMENT,
  `model_name` text NOT NULL,
  `description` text,
  `icon` varchar(128),
  `tags` varchar(255),
  `vendor_id` integer,
  `endpoints` text,
  `status` integer DEFAULT 1,
  `sync_official` integer DEFAULT 1,
  `created_time` integer,
  `updated_time` integer,
  `deleted_at` datetime,
  `name_rule` integer DEFAULT 0
);
CREATE UNIQUE INDEX IF NOT EXISTS `uk_model_name_delete_at` ON `models`(`model_name`,`deleted_at`);

CREATE TABLE IF NOT EXISTS `vendors` (
  `id` integer PRIMARY KEY AUTOINCREMENT,
  `name` text NOT NULL,
  `description` text,
  `icon` varchar(128),
  `status` integer DEFAULT 1,
  `created_time` integer,
  `updated_time` integer,
  `deleted_at` datetime
);
CREATE UNIQUE INDEX IF NOT EXISTS `uk_vendor_name_delete_at` ON `vendors`(`name`,`deleted_at`);

CREATE TABLE IF NOT EXISTS `setups` (
  `id` integer PRIMARY KEY AUTOINCREMENT,
  `version` varchar(50) NOT NULL,
  `initialized_at` bigint NOT NULL
);

CREATE TABLE IF NOT EXISTS `checkins` (
  `id` integer PRIMARY KEY AUTOINCREMENT,
  `user_id` integer NOT NULL,
  `checkin_date` varchar(10) NOT NULL,
  `quota_awarded` integer NOT NULL,
  `created_at` integer
);
CREATE UNIQUE INDEX IF NOT EXISTS `idx_user_checkin_date` ON `checkins`(`user_id`,`checkin_date`);

-- Token Factory's own: the last Redis stream entry the ledger persister applied per
-- stream, advanced in the same transaction as the entries it applies.
CREATE TABLE IF NOT EXISTS `ledger_cursors` (
  `stream` VARCHAR(191) NOT NULL,
  `last_id` VARCHAR(64) NOT NULL,
  `updated_at` INTEGER DEFAULT NULL,
  PRIMARY KEY (`stream`)
);
