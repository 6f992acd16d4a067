class CreateOrders < ActiveRecord::Migration[6.1]
  def change
    create_table :orders do |t|
      t.integer :total_cents, null: false
      t.datetime :paid_at
      t.timestamps
    end
  end
end
