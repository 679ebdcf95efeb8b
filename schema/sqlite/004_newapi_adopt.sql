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

-- 1. SQLite cannot change a column's type: copy into a new table and swap.
WHEN COLUMN user_sessions.status INTEGER
CREATE TABLE `tf_user_sessions_new` (`sid` varchar(64),`user_id` integer NOT NULL,`version` bigint NOT NULL DEFAULT 1,`user_auth_version` bigint NOT NULL,`status` varchar(16) NOT NULL,`refresh_hash` char(64) NOT NULL,`previous_refresh_hash` varchar(64),`previous_valid_until` bigint NOT NULL DEFAULT 0,`login_method` varchar(32) NOT NULL,`ip` varchar(64),`user_agent` text,`created_at` integer,`last_active_at` bigint NOT NULL,`expires_at` bigint NOT NULL,`revoked_at` bigint NOT NULL DEFAULT 0,`revoked_reason` varchar(64),PRIMARY KEY (`sid`));
WHEN TABLE tf_user_sessions_new EXISTS
INSERT INTO `tf_user_sessions_new` (sid, user_id, version, user_auth_version, status, refresh_hash, previous_refresh_hash, previous_valid_until, login_method, ip, user_agent, created_at, last_active_at, expires_at, revoked_at, revoked_reason)
SELECT sid, user_id, version, user_auth_version, CASE WHEN status = 1 THEN 'active' ELSE 'revoked' END, refresh_hash, previous_refresh_hash, 0, COALESCE(login_method, 'password'), ip, user_agent, created_at, last_active_at, expires_at, COALESCE(revoked_at, 0), revoked_reason
FROM `user_sessions`;
WHEN TABLE tf_user_sessions_new EXISTS DROP TABLE `user_sessions`;
WHEN TABLE tf_user_sessions_new EXISTS
ALTER TABLE `tf_user_sessions_new` RENAME TO `user_sessions`;

-- 2. Every column of new-api's schema (tests/fixtures/newapi/sqlite.sql) that a database
-- may lack: one made by an older new-api, or by Token Factory before this
-- migration (it had no channels.open_ai_organization, logs.is_retry_attempt,
-- logs.channel_name, top_ups.payment_provider, quota_data's use_group, token_id,
-- channel_id and node_name). Key and NOT NULL columns without a default exist in
-- every version and are left out.
ALTER TABLE `channels` ADD COLUMN IF NOT EXISTS `type` integer DEFAULT 0;
ALTER TABLE `channels` ADD COLUMN IF NOT EXISTS `open_ai_organization` text;
ALTER TABLE `channels` ADD COLUMN IF NOT EXISTS `test_model` text;
ALTER TABLE `channels` ADD COLUMN IF NOT EXISTS `status` integer DEFAULT 1;
ALTER TABLE `channels` ADD COLUMN IF NOT EXISTS `name` text;
ALTER TABLE `channels` ADD COLUMN IF NOT EXISTS `weight` integer DEFAULT 0;
ALTER TABLE `channels` ADD COLUMN IF NOT EXISTS `created_time` integer;
ALTER TABLE `channels` ADD COLUMN IF NOT EXISTS `test_time` integer;
ALTER TABLE `channels` ADD COLUMN IF NOT EXISTS `response_time` integer;
ALTER TABLE `channels` ADD COLUMN IF NOT EXISTS `base_url` text DEFAULT '';
ALTER TABLE `channels` ADD COLUMN IF NOT EXISTS `other` text;
ALTER TABLE `channels` ADD COLUMN IF NOT EXISTS `balance` real;
ALTER TABLE `channels` ADD COLUMN IF NOT EXISTS `balance_updated_time` integer;
ALTER TABLE `channels` ADD COLUMN IF NOT EXISTS `models` text;
ALTER TABLE `channels` ADD COLUMN IF NOT EXISTS `group` varchar(64) DEFAULT 'default';
ALTER TABLE `channels` ADD COLUMN IF NOT EXISTS `used_quota` integer DEFAULT 0;
ALTER TABLE `channels` ADD COLUMN IF NOT EXISTS `model_mapping` text;
ALTER TABLE `channels` ADD COLUMN IF NOT EXISTS `status_code_mapping` varchar(1024) DEFAULT '';
ALTER TABLE `channels` ADD COLUMN IF NOT EXISTS `priority` integer DEFAULT 0;
ALTER TABLE `channels` ADD COLUMN IF NOT EXISTS `auto_ban` integer DEFAULT 1;
ALTER TABLE `channels` ADD COLUMN IF NOT EXISTS `other_info` text;
ALTER TABLE `channels` ADD COLUMN IF NOT EXISTS `tag` text;
ALTER TABLE `channels` ADD COLUMN IF NOT EXISTS `setting` text;
ALTER TABLE `channels` ADD COLUMN IF NOT EXISTS `param_override` text;
ALTER TABLE `channels` ADD COLUMN IF NOT EXISTS `header_override` text;
ALTER TABLE `channels` ADD COLUMN IF NOT EXISTS `remark` varchar(255);
ALTER TABLE `channels` ADD COLUMN IF NOT EXISTS `channel_info` json;
ALTER TABLE `channels` ADD COLUMN IF NOT EXISTS `settings` text;
ALTER TABLE `tokens` ADD COLUMN IF NOT EXISTS `user_id` integer;
ALTER TABLE `tokens` ADD COLUMN IF NOT EXISTS `key` varchar(128);
ALTER TABLE `tokens` ADD COLUMN IF NOT EXISTS `status` integer DEFAULT 1;
ALTER TABLE `tokens` ADD COLUMN IF NOT EXISTS `name` text;
ALTER TABLE `tokens` ADD COLUMN IF NOT EXISTS `created_time` integer;
ALTER TABLE `tokens` ADD COLUMN IF NOT EXISTS `accessed_time` integer;
ALTER TABLE `tokens` ADD COLUMN IF NOT EXISTS `expired_time` integer DEFAULT -1;
ALTER TABLE `tokens` ADD COLUMN IF NOT EXISTS `remain_quota` integer DEFAULT 0;
ALTER TABLE `tokens` ADD COLUMN IF NOT EXISTS `unlimited_quota` numeric;
ALTER TABLE `tokens` ADD COLUMN IF NOT EXISTS `model_limits_enabled` numeric;
ALTER TABLE `tokens` ADD COLUMN IF NOT EXISTS `model_limits` text;
ALTER TABLE `tokens` ADD COLUMN IF NOT EXISTS `allow_ips` text DEFAULT '';
ALTER TABLE `tokens` ADD COLUMN IF NOT EXISTS `used_quota` integer DEFAULT 0;
ALTER TABLE `tokens` ADD COLUMN IF NOT EXISTS `group` text DEFAULT '';
ALTER TABLE `tokens` ADD COLUMN IF NOT EXISTS `cross_group_retry` numeric;
ALTER TABLE `tokens` ADD COLUMN IF NOT EXISTS `auto_groups` text;
ALTER TABLE `tokens` ADD COLUMN IF NOT EXISTS `deleted_at` datetime;
ALTER TABLE `users` ADD COLUMN IF NOT EXISTS `display_name` text;
ALTER TABLE `users` ADD COLUMN IF NOT EXISTS `role` integer DEFAULT 1;
ALTER TABLE `users` ADD COLUMN IF NOT EXISTS `status` integer DEFAULT 1;
ALTER TABLE `users` ADD COLUMN IF NOT EXISTS `email` text;
ALTER TABLE `users` ADD COLUMN IF NOT EXISTS `github_id` text;
ALTER TABLE `users` ADD COLUMN IF NOT EXISTS `discord_id` text;
ALTER TABLE `users` ADD COLUMN IF NOT EXISTS `oidc_id` text;
ALTER TABLE `users` ADD COLUMN IF NOT EXISTS `wechat_id` text;
ALTER TABLE `users` ADD COLUMN IF NOT EXISTS `telegram_id` text;
ALTER TABLE `users` ADD COLUMN IF NOT EXISTS `access_token` char(32);
ALTER TABLE `users` ADD COLUMN IF NOT EXISTS `quota` integer DEFAULT 0;
ALTER TABLE `users` ADD COLUMN IF NOT EXISTS `used_quota` integer DEFAULT 0;
ALTER TABLE `users` ADD COLUMN IF NOT EXISTS `request_count` integer DEFAULT 0;
ALTER TABLE `users` ADD COLUMN IF NOT EXISTS `group` varchar(64) DEFAULT 'default';
ALTER TABLE `users` ADD COLUMN IF NOT EXISTS `aff_code` varchar(32);
ALTER TABLE `users` ADD COLUMN IF NOT EXISTS `aff_count` integer DEFAULT 0;
ALTER TABLE `users` ADD COLUMN IF NOT EXISTS `aff_quota` integer DEFAULT 0;
ALTER TABLE `users` ADD COLUMN IF NOT EXISTS `aff_history` integer DEFAULT 0;
ALTER TABLE `users` ADD COLUMN IF NOT EXISTS `inviter_id` integer;
ALTER TABLE `users` ADD COLUMN IF NOT EXISTS `deleted_at` datetime;
ALTER TABLE `users` ADD COLUMN IF NOT EXISTS `linux_do_id` text;
ALTER TABLE `users` ADD COLUMN IF NOT EXISTS `setting` text;
ALTER TABLE `users` ADD COLUMN IF NOT EXISTS `remark` varchar(255);
ALTER TABLE `users` ADD COLUMN IF NOT EXISTS `stripe_customer` varchar(64);
ALTER TABLE `users` ADD COLUMN IF NOT EXISTS `created_at` integer;
ALTER TABLE `users` ADD COLUMN IF NOT EXISTS `last_login_at` integer DEFAULT 0;
ALTER TABLE `users` ADD COLUMN IF NOT EXISTS `auth_version` bigint NOT NULL DEFAULT 1;
ALTER TABLE `user_sessions` ADD COLUMN IF NOT EXISTS `version` bigint NOT NULL DEFAULT 1;
ALTER TABLE `user_sessions` ADD COLUMN IF NOT EXISTS `previous_refresh_hash` varchar(64);
ALTER TABLE `user_sessions` ADD COLUMN IF NOT EXISTS `previous_valid_until` bigint NOT NULL DEFAULT 0;
ALTER TABLE `user_sessions` ADD COLUMN IF NOT EXISTS `ip` varchar(64);
ALTER TABLE `user_sessions` ADD COLUMN IF NOT EXISTS `user_agent` text;
ALTER TABLE `user_sessions` ADD COLUMN IF NOT EXISTS `created_at` integer;
ALTER TABLE `user_sessions` ADD COLUMN IF NOT EXISTS `revoked_at` bigint NOT NULL DEFAULT 0;
ALTER TABLE `user_sessions` ADD COLUMN IF NOT EXISTS `revoked_reason` varchar(64);
ALTER TABLE `options` ADD COLUMN IF NOT EXISTS `value` text;
ALTER TABLE `redemptions` ADD COLUMN IF NOT EXISTS `user_id` integer;
ALTER TABLE `redemptions` ADD COLUMN IF NOT EXISTS `key` char(32);
ALTER TABLE `redemptions` ADD COLUMN IF NOT EXISTS `status` integer DEFAULT 1;
ALTER TABLE `redemptions` ADD COLUMN IF NOT EXISTS `name` text;
ALTER TABLE `redemptions` ADD COLUMN IF NOT EXISTS `quota` integer DEFAULT 100;
ALTER TABLE `redemptions` ADD COLUMN IF NOT EXISTS `created_time` integer;
ALTER TABLE `redemptions` ADD COLUMN IF NOT EXISTS `redeemed_time` integer;
ALTER TABLE `redemptions` ADD COLUMN IF NOT EXISTS `used_user_id` integer;
ALTER TABLE `redemptions` ADD COLUMN IF NOT EXISTS `deleted_at` datetime;
ALTER TABLE `redemptions` ADD COLUMN IF NOT EXISTS `expired_time` integer;
ALTER TABLE `abilities` ADD COLUMN IF NOT EXISTS `enabled` numeric;
ALTER TABLE `abilities` ADD COLUMN IF NOT EXISTS `priority` integer DEFAULT 0;
ALTER TABLE `abilities` ADD COLUMN IF NOT EXISTS `weight` integer DEFAULT 0;
ALTER TABLE `abilities` ADD COLUMN IF NOT EXISTS `tag` text;
ALTER TABLE `logs` ADD COLUMN IF NOT EXISTS `user_id` integer;
ALTER TABLE `logs` ADD COLUMN IF NOT EXISTS `created_at` integer;
ALTER TABLE `logs` ADD COLUMN IF NOT EXISTS `type` integer;
ALTER TABLE `logs` ADD COLUMN IF NOT EXISTS `content` text;
ALTER TABLE `logs` ADD COLUMN IF NOT EXISTS `username` text DEFAULT '';
ALTER TABLE `logs` ADD COLUMN IF NOT EXISTS `token_name` text DEFAULT '';
ALTER TABLE `logs` ADD COLUMN IF NOT EXISTS `model_name` text DEFAULT '';
ALTER TABLE `logs` ADD COLUMN IF NOT EXISTS `quota` integer DEFAULT 0;
ALTER TABLE `logs` ADD COLUMN IF NOT EXISTS `prompt_tokens` integer DEFAULT 0;
ALTER TABLE `logs` ADD COLUMN IF NOT EXISTS `completion_tokens` integer DEFAULT 0;
ALTER TABLE `logs` ADD COLUMN IF NOT EXISTS `use_time` integer DEFAULT 0;
ALTER TABLE `logs` ADD COLUMN IF NOT EXISTS `is_stream` numeric;
ALTER TABLE `logs` ADD COLUMN IF NOT EXISTS `is_retry_attempt` numeric;
ALTER TABLE `logs` ADD COLUMN IF NOT EXISTS `channel_id` integer;
ALTER TABLE `logs` ADD COLUMN IF NOT EXISTS `channel_name` text;
ALTER TABLE `logs` ADD COLUMN IF NOT EXISTS `token_id` integer DEFAULT 0;
ALTER TABLE `logs` ADD COLUMN IF NOT EXISTS `group` text;
ALTER TABLE `logs` ADD COLUMN IF NOT EXISTS `ip` text DEFAULT '';
ALTER TABLE `logs` ADD COLUMN IF NOT EXISTS `request_id` varchar(64) DEFAULT '';
ALTER TABLE `logs` ADD COLUMN IF NOT EXISTS `upstream_request_id` varchar(128) DEFAULT '';
ALTER TABLE `logs` ADD COLUMN IF NOT EXISTS `other` text;
ALTER TABLE `top_ups` ADD COLUMN IF NOT EXISTS `user_id` integer;
ALTER TABLE `top_ups` ADD COLUMN IF NOT EXISTS `amount` integer;
ALTER TABLE `top_ups` ADD COLUMN IF NOT EXISTS `money` real;
ALTER TABLE `top_ups` ADD COLUMN IF NOT EXISTS `payment_method` varchar(50);
ALTER TABLE `top_ups` ADD COLUMN IF NOT EXISTS `payment_provider` varchar(50) DEFAULT '';
ALTER TABLE `top_ups` ADD COLUMN IF NOT EXISTS `create_time` integer;
ALTER TABLE `top_ups` ADD COLUMN IF NOT EXISTS `complete_time` integer;
ALTER TABLE `top_ups` ADD COLUMN IF NOT EXISTS `status` text;
ALTER TABLE `quota_data` ADD COLUMN IF NOT EXISTS `user_id` integer;
ALTER TABLE `quota_data` ADD COLUMN IF NOT EXISTS `username` text DEFAULT '';
ALTER TABLE `quota_data` ADD COLUMN IF NOT EXISTS `model_name` text DEFAULT '';
ALTER TABLE `quota_data` ADD COLUMN IF NOT EXISTS `created_at` integer;
ALTER TABLE `quota_data` ADD COLUMN IF NOT EXISTS `use_group` text DEFAULT '';
ALTER TABLE `quota_data` ADD COLUMN IF NOT EXISTS `token_id` integer DEFAULT 0;
ALTER TABLE `quota_data` ADD COLUMN IF NOT EXISTS `channel_id` integer DEFAULT 0;
ALTER TABLE `quota_data` ADD COLUMN IF NOT EXISTS `node_name` text DEFAULT '';
ALTER TABLE `quota_data` ADD COLUMN IF NOT EXISTS `token_used` integer DEFAULT 0;
ALTER TABLE `quota_data` ADD COLUMN IF NOT EXISTS `count` integer DEFAULT 0;
ALTER TABLE `quota_data` ADD COLUMN IF NOT EXISTS `quota` integer DEFAULT 0;
ALTER TABLE `models` ADD COLUMN IF NOT EXISTS `description` text;
ALTER TABLE `models` ADD COLUMN IF NOT EXISTS `icon` varchar(128);
ALTER TABLE `models` ADD COLUMN IF NOT EXISTS `tags` varchar(255);
ALTER TABLE `models` ADD COLUMN IF NOT EXISTS `vendor_id` integer;
ALTER TABLE `models` ADD COLUMN IF NOT EXISTS `endpoints` text;
ALTER TABLE `models` ADD COLUMN IF NOT EXISTS `status` integer DEFAULT 1;
ALTER TABLE `models` ADD COLUMN IF NOT EXISTS `sync_official` integer DEFAULT 1;
ALTER TABLE `models` ADD COLUMN IF NOT EXISTS `created_time` integer;
ALTER TABLE `models` ADD COLUMN IF NOT EXISTS `updated_time` integer;
ALTER TABLE `models` ADD COLUMN IF NOT EXISTS `deleted_at` datetime;
ALTER TABLE `models` ADD COLUMN IF NOT EXISTS `name_rule` integer DEFAULT 0;
ALTER TABLE `vendors` ADD COLUMN IF NOT EXISTS `description` text;
ALTER TABLE `vendors` ADD COLUMN IF NOT EXISTS `icon` varchar(128);
ALTER TABLE `vendors` ADD COLUMN IF NOT EXISTS `status` integer DEFAULT 1;
ALTER TABLE `vendors` ADD COLUMN IF NOT EXISTS `created_time` integer;
ALTER TABLE `vendors` ADD COLUMN IF NOT EXISTS `updated_time` integer;
ALTER TABLE `vendors` ADD COLUMN IF NOT EXISTS `deleted_at` datetime;
ALTER TABLE `checkins` ADD COLUMN IF NOT EXISTS `created_at` integer;

-- 3.
WHEN COLUMN channels.openai_organization EXISTS
UPDATE `channels` SET `open_ai_organization` = `openai_organization`
WHERE `open_ai_organization` IS NULL;

-- 4.
DROP INDEX IF EXISTS `idx_users_github_id`;
DROP INDEX IF EXISTS `idx_users_wechat_id`;
CREATE INDEX IF NOT EXISTS `idx_channels_name` ON `channels` (`name`);
CREATE INDEX IF NOT EXISTS `idx_channels_tag` ON `channels` (`tag`);
CREATE INDEX IF NOT EXISTS `idx_tokens_user_id` ON `tokens` (`user_id`);
CREATE INDEX IF NOT EXISTS `idx_tokens_name` ON `tokens` (`name`);
CREATE INDEX IF NOT EXISTS `idx_tokens_deleted_at` ON `tokens` (`deleted_at`);
CREATE INDEX IF NOT EXISTS `idx_users_username` ON `users` (`username`);
CREATE INDEX IF NOT EXISTS `idx_users_display_name` ON `users` (`display_name`);
CREATE INDEX IF NOT EXISTS `idx_users_email` ON `users` (`email`);
CREATE INDEX IF NOT EXISTS `idx_users_git_hub_id` ON `users` (`github_id`);
CREATE INDEX IF NOT EXISTS `idx_users_discord_id` ON `users` (`discord_id`);
CREATE INDEX IF NOT EXISTS `idx_users_oidc_id` ON `users` (`oidc_id`);
CREATE INDEX IF NOT EXISTS `idx_users_we_chat_id` ON `users` (`wechat_id`);
CREATE INDEX IF NOT EXISTS `idx_users_telegram_id` ON `users` (`telegram_id`);
CREATE INDEX IF NOT EXISTS `idx_users_inviter_id` ON `users` (`inviter_id`);
CREATE INDEX IF NOT EXISTS `idx_users_deleted_at` ON `users` (`deleted_at`);
CREATE INDEX IF NOT EXISTS `idx_users_linux_do_id` ON `users` (`linux_do_id`);
CREATE INDEX IF NOT EXISTS `idx_users_stripe_customer` ON `users` (`stripe_customer`);
CREATE INDEX IF NOT EXISTS `idx_user_sessions_user_status_expiry` ON `user_sessions` (`user_id`,`status`,`expires_at`);
CREATE INDEX IF NOT EXISTS `idx_user_sessions_user_created` ON `user_sessions` (`user_id`,`created_at`);
CREATE INDEX IF NOT EXISTS `idx_user_sessions_status_revoked` ON `user_sessions` (`status`,`revoked_at`);
CREATE INDEX IF NOT EXISTS `idx_user_sessions_expires_at` ON `user_sessions` (`expires_at`);
CREATE INDEX IF NOT EXISTS `idx_redemptions_name` ON `redemptions` (`name`);
CREATE INDEX IF NOT EXISTS `idx_redemptions_deleted_at` ON `redemptions` (`deleted_at`);
CREATE INDEX IF NOT EXISTS `idx_abilities_channel_id` ON `abilities` (`channel_id`);
CREATE INDEX IF NOT EXISTS `idx_abilities_priority` ON `abilities` (`priority`);
CREATE INDEX IF NOT EXISTS `idx_abilities_weight` ON `abilities` (`weight`);
CREATE INDEX IF NOT EXISTS `idx_abilities_tag` ON `abilities` (`tag`);
CREATE INDEX IF NOT EXISTS `idx_created_at_id` ON `logs` (`created_at`,`id`);
CREATE INDEX IF NOT EXISTS `idx_user_id_id` ON `logs` (`user_id`,`id`);
CREATE INDEX IF NOT EXISTS `idx_logs_user_id` ON `logs` (`user_id`);
CREATE INDEX IF NOT EXISTS `idx_created_at_type` ON `logs` (`created_at`,`type`);
CREATE INDEX IF NOT EXISTS `idx_logs_username` ON `logs` (`username`);
CREATE INDEX IF NOT EXISTS `index_username_model_name` ON `logs` (`model_name`,`username`);
CREATE INDEX IF NOT EXISTS `idx_logs_token_name` ON `logs` (`token_name`);
CREATE INDEX IF NOT EXISTS `idx_logs_model_name` ON `logs` (`model_name`);
CREATE INDEX IF NOT EXISTS `idx_logs_channel_id` ON `logs` (`channel_id`);
CREATE INDEX IF NOT EXISTS `idx_logs_token_id` ON `logs` (`token_id`);
CREATE INDEX IF NOT EXISTS `idx_logs_group` ON `logs` (`group`);
CREATE INDEX IF NOT EXISTS `idx_logs_ip` ON `logs` (`ip`);
CREATE INDEX IF NOT EXISTS `idx_logs_request_id` ON `logs` (`request_id`);
CREATE INDEX IF NOT EXISTS `idx_logs_upstream_request_id` ON `logs` (`upstream_request_id`);
CREATE INDEX IF NOT EXISTS `idx_top_ups_user_id` ON `top_ups` (`user_id`);
CREATE INDEX IF NOT EXISTS `idx_top_ups_trade_no` ON `top_ups` (`trade_no`);
CREATE INDEX IF NOT EXISTS `idx_quota_data_user_id` ON `quota_data` (`user_id`);
CREATE INDEX IF NOT EXISTS `idx_qdt_model_user_name` ON `quota_data` (`model_name`,`username`);
CREATE INDEX IF NOT EXISTS `idx_qdt_created_at` ON `quota_data` (`created_at`);
CREATE INDEX IF NOT EXISTS `idx_quota_data_use_group` ON `quota_data` (`use_group`);
CREATE INDEX IF NOT EXISTS `idx_quota_data_token_id` ON `quota_data` (`token_id`);
CREATE INDEX IF NOT EXISTS `idx_quota_data_channel_id` ON `quota_data` (`channel_id`);
CREATE INDEX IF NOT EXISTS `idx_quota_data_node_name` ON `quota_data` (`node_name`);
CREATE INDEX IF NOT EXISTS `idx_models_vendor_id` ON `models` (`vendor_id`);
CREATE INDEX IF NOT EXISTS `idx_models_deleted_at` ON `models` (`deleted_at`);
CREATE INDEX IF NOT EXISTS `idx_vendors_deleted_at` ON `vendors` (`deleted_at`);
