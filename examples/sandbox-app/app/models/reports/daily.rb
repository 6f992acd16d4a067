module Reports
  # Run daily by config/schedule.rb.
  module Daily
    def self.deliver
      count = Order.where(created_at: 1.day.ago..).count
      Rails.logger.info("Reports::Daily.deliver: #{count} orders in the last day")
      count
    end
  end
end
