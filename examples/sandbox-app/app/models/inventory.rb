# Run every minute by config/schedule.rb (the cron service).
module Inventory
  def self.sync_pending
    pending = Order.where(paid_at: nil).count
    Rails.logger.info("Inventory.sync_pending: #{pending} pending orders")
    pending
  end
end
